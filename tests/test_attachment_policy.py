"""Which files of a posted mail are stored, under which name and where, and why the others are
listed: the pure judgement (handler.attachments.policy, names, sniff, layout)."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import handler.attachments.names as names_module
from handler.attachments.layout import (
    StoredPath,
    day_folder,
    github_path,
    s3_key,
    s3_prefix,
    stored_path,
    web_host,
)
from handler.attachments.model import (
    MB,
    AttachmentSettings,
    Deployment,
    FilePlan,
    FileReason,
    GitHubPlace,
    ListedFile,
    S3Place,
    StoredFile,
)
from handler.attachments.names import (
    EXTENSIONS,
    MAX_STEM,
    PROGRAM_EXTENSIONS,
    UniqueNames,
    extension,
    safe_name,
)
from handler.attachments.policy import effective_type, human_size, plan_files
from handler.attachments.sniff import contradicts, program, sniffed_type
from tests.complexity import MAX_GROWTH, growth

MAIL = "0123456789abcdef0123456789abcdef"
# 2024-02-29 23:59:59 UTC: the day a file is filed under is SES's, in UTC.
RECEIVED = 1709251199.0
DAY = "2024/02/29"
LINK = AttachmentSettings(mode="link")
S3 = AttachmentSettings(mode="link", storage="s3")
NO_BUCKET = Deployment()
BUCKET = Deployment(s3_base="https://d111111abcdef8.cloudfront.net")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 16
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 22
GZIP = b"\x1f\x8b\x08\x00" + b"\x00" * 16
LOG = b"2024-02-29 12:00:00 ERROR something broke\n"


@dataclass(frozen=True)
class File:
    """What the mail says of a file (handler.inbound.attachments.Attachment's shape)."""

    filename: str
    content_type: str
    size: int = 0


def plan(
    files: Sequence[tuple[str, str, bytes | None]],
    settings: AttachmentSettings = LINK,
    *,
    virus: str | None = "PASS",
    received_at: float | None = RECEIVED,
    api_url: str | None = None,
    deployment: Deployment = NO_BUCKET,
    repo: str = "example-org/website",
) -> tuple[FilePlan, ...]:
    """The plan of a mail with ``files`` (name, declared type, content or None: unreadable)."""
    facts = [File(name, kind, len(content or b"")) for name, kind, content in files]
    contents = {i: content for i, (_, _, content) in enumerate(files) if content is not None}
    return plan_files(
        facts,
        contents,
        settings=settings,
        repo=repo,
        mail=MAIL,
        virus=virus,
        received_at=received_at,
        api_url=api_url,
        deployment=deployment,
    )


def stored(index: int, name: str, content_type: str, content: bytes) -> StoredFile:
    """A file stored on the route's own repository's default branch, dated RECEIVED."""
    return StoredFile(
        index,
        name,
        content_type,
        content_type.startswith("image/"),
        GitHubPlace(
            "https://github.com",
            "example-org/website",
            "ticket-router-attachments",
            f"{DAY}/{MAIL}/{name}",
        ),
        content,
    )


def reasons(plans: Sequence[FilePlan]) -> list[str]:
    """Each file's outcome: ``stored`` or the reason's code."""
    return ["stored" if isinstance(p, StoredFile) else p.reason.value for p in plans]


def only(plans: Sequence[FilePlan]) -> FilePlan:
    (found,) = plans
    return found


# --- the whole plan ---------------------------------------------------------------------------


def test_a_mail_of_every_kind_of_file_is_planned_file_by_file_in_order():
    """Screenshots and a log are stored; a program, an unlisted type, a mislabelled image, an
    empty and an unreadable file are listed, each with its reason and detail."""
    plans = plan(
        [
            ("screenshot.png", "image/png", PNG),
            ("app.log", "application/octet-stream", LOG),
            ("setup.exe", "application/octet-stream", b"MZ\x90\x00"),
            ("diagram.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            ("photo.png", "image/png", JPEG),
            ("empty.txt", "text/plain", b""),
            ("inside.doc", "application/msword", None),
            ("photo.jpg", "image/jpeg", JPEG),
        ]
    )
    assert plans == (
        stored(0, "screenshot.png", "image/png", PNG),
        stored(1, "app.log", "text/plain", LOG),
        ListedFile(2, FileReason.EXECUTABLE, "its content is a Windows or DOS program"),
        ListedFile(3, FileReason.TYPE_NOT_ALLOWED, "image/svg+xml is not among the route's types"),
        ListedFile(4, FileReason.TYPE_MISMATCH, "its content is a JPEG image, not a PNG image"),
        ListedFile(5, FileReason.EMPTY, "it is empty (0 bytes)"),
        ListedFile(6, FileReason.UNREADABLE, "its content cannot be read out of the mail"),
        stored(7, "photo.jpg", "image/jpeg", JPEG),
    )
    assert [p.content for p in plans if isinstance(p, StoredFile)] == [PNG, LOG, JPEG]
    assert [p.inline for p in plans if isinstance(p, StoredFile)] == [True, False, True]


def test_a_mail_without_files_plans_nothing():
    """No files, no plans, whatever the verdict."""
    assert plan([]) == ()
    assert plan([], virus=None) == ()


def test_the_same_mail_planned_twice_gets_the_same_places():
    """A retry or replay computes the same names, paths and keys: nothing is stored twice."""
    files = [("a.png", "image/png", PNG), ("a.png", "image/png", PNG + b"x")]
    assert plan(files) == plan(files)
    assert plan(files, S3, deployment=BUCKET) == plan(files, S3, deployment=BUCKET)


@pytest.mark.parametrize(
    ("virus", "detail"),
    [
        ("FAIL", "SES's virus verdict is FAIL"),
        ("GRAY", "SES's virus verdict is GRAY"),
        ("PROCESSING_FAILED", "SES's virus verdict is PROCESSING_FAILED"),
        # Scanning off in the receipt rule, or a preview's assumed receipt.
        ("DISABLED", "SES's virus verdict is DISABLED"),
        (None, "SES gave no virus verdict"),
    ],
)
def test_without_a_pass_verdict_every_file_is_listed_not_scanned(virus, detail):
    """Only a mail SES scanned and passed has its files stored; the rule wins over every other."""
    plans = plan(
        [("a.png", "image/png", PNG), ("b.exe", "application/x-msdownload", None)], virus=virus
    )
    assert plans == (
        ListedFile(0, FileReason.NOT_SCANNED, detail),
        ListedFile(1, FileReason.NOT_SCANNED, detail),
    )


def test_s3_storage_without_a_bucket_lists_every_file_no_storage():
    """A route that stores in S3 on a deployment without the bucket lists its files."""
    detail = "the route stores files in S3 and this deployment has no attachments bucket"
    assert plan([("a.png", "image/png", PNG), ("b.txt", "text/plain", None)], S3) == (
        ListedFile(0, FileReason.NO_STORAGE, detail),
        ListedFile(1, FileReason.NO_STORAGE, detail),
    )


def test_the_verdict_is_judged_before_the_storage():
    """A failed scan says not-scanned, even where there is no storage either."""
    assert reasons(plan([("a.png", "image/png", PNG)], S3, virus="FAIL")) == ["not-scanned"]


def test_plan_files_never_gives_the_reasons_of_delivery():
    """wider-access and not-stored are decided when storing (visibility, the store's answer)."""
    every = [
        ("a.png", "image/png", PNG),
        ("b.exe", "application/pdf", PDF),
        ("c.svg", "image/svg+xml", b"<svg/>"),
        ("d.png", "image/png", GIF),
        ("e.txt", "text/plain", b""),
        ("f.txt", "text/plain", None),
        ("g.txt", "text/plain", b"x" * (LINK.max_file_size + 1)),
    ]
    found = {p.reason for p in plan(every) if isinstance(p, ListedFile)}
    found |= {p.reason for p in plan(every, virus="FAIL") if isinstance(p, ListedFile)}
    found |= {p.reason for p in plan(every, S3) if isinstance(p, ListedFile)}
    many = replace(LINK, max_files=1, max_mail_size=len(PNG) + 1)
    found |= {
        p.reason
        for p in plan([every[0], every[0], ("h.txt", "text/plain", LOG)], many)
        if isinstance(p, ListedFile)
    }
    found |= {
        p.reason
        for p in plan([("h.txt", "text/plain", LOG * 2), every[0]], replace(many, max_files=5))
        if isinstance(p, ListedFile)
    }
    assert found == set(FileReason) - {FileReason.WIDER_ACCESS, FileReason.NOT_STORED}


# --- the rules' order -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "content", "reason"),
    [
        # Unreadable, then empty, then size, then program, then type, then content.
        ("a.exe", "application/x-msdownload", None, "unreadable"),
        ("a.exe", "application/x-msdownload", b"", "empty"),
        ("a.exe", "application/x-msdownload", b"MZ" + b"\x00" * 11, "file-too-large"),
        ("a.exe", "image/svg+xml", b"<svg/>", "executable"),
        ("a.svg", "image/svg+xml", PNG[:8], "type-not-allowed"),
        ("a.png", "image/png", b"<svg/>", "type-mismatch"),
    ],
)
def test_the_first_rule_that_applies_wins(name, content_type, content, reason):
    """A file that breaks several rules is listed for the first of them, in the documented
    order."""
    settings = replace(LINK, max_file_size=12, max_mail_size=12)
    assert reasons(plan([(name, content_type, content)], settings)) == [reason]


def test_a_file_listed_for_itself_leaves_room_for_the_others():
    """Listed files count neither against max_files nor against max_mail_size."""
    settings = replace(LINK, max_files=2, max_file_size=2 * len(PNG), max_mail_size=2 * len(PNG))
    plans = plan(
        [
            ("a.exe", "application/octet-stream", b"MZ"),
            ("big.png", "image/png", PNG * 100),
            ("a.png", "image/png", PNG),
            ("b.png", "image/png", PNG),
            ("c.png", "image/png", PNG),
        ],
        settings,
    )
    assert reasons(plans) == ["executable", "file-too-large", "stored", "stored", "too-many-files"]


# --- sizes ------------------------------------------------------------------------------------


def test_a_file_of_exactly_max_file_size_is_stored_one_byte_more_is_not():
    """The limit is inclusive, measured on the decoded content."""
    settings = replace(LINK, max_file_size=len(LOG))
    plans = plan([("a.txt", "text/plain", LOG), ("b.txt", "text/plain", LOG + b"!")], settings)
    assert reasons(plans) == ["stored", "file-too-large"]
    assert plans[1] == ListedFile(
        1, FileReason.FILE_TOO_LARGE, "43 bytes; the route stores files up to 42 bytes"
    )


def test_a_large_file_says_its_size_and_the_limit_in_mb():
    """The detail is for people: sizes in KB and MB of 1,024."""
    size = int(12.3 * MB)
    (found,) = plan([("big.txt", "text/plain", b"x" * size)])
    assert found == ListedFile(
        0, FileReason.FILE_TOO_LARGE, "12.3 MB; the route stores files up to 10.0 MB"
    )


def test_the_mail_size_is_filled_in_order_and_a_later_smaller_file_still_fits():
    """Each file is stored while the mail's stored total stays within max_mail_size."""
    settings = replace(LINK, max_mail_size=3000)
    plans = plan(
        [
            ("a.txt", "text/plain", b"a" * 2000),
            ("b.txt", "text/plain", b"b" * 1001),
            ("c.txt", "text/plain", b"c" * 1000),
            ("d.txt", "text/plain", b"d"),
        ],
        settings,
    )
    assert reasons(plans) == ["stored", "mail-too-large", "stored", "mail-too-large"]
    assert plans[1] == ListedFile(
        1,
        FileReason.MAIL_TOO_LARGE,
        "with it the mail's files would be 2.9 KB; the route stores up to 2.9 KB of a mail",
    )


def test_files_past_max_files_are_listed():
    """The first max_files storable files are stored, the rest listed."""
    settings = replace(LINK, max_files=2)
    plans = plan([(f"{n}.txt", "text/plain", LOG) for n in range(4)], settings)
    assert reasons(plans) == ["stored", "stored", "too-many-files", "too-many-files"]
    assert plans[2] == ListedFile(
        2, FileReason.TOO_MANY_FILES, "the route stores at most 2 files of a mail"
    )


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (MB, "1.0 MB"),
        (25 * MB, "25.0 MB"),
    ],
)
def test_sizes_for_people(size, text):
    """Details write sizes as the comment does: bytes, then KB and MB of 1,024."""
    assert human_size(size) == text


# --- types and content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "declared", "effective"),
    [
        ("app.log", "application/octet-stream", "text/plain"),
        ("APP.LOG", "", "text/plain"),
        ("shot.PNG", "application/octet-stream", "image/png"),
        ("fix.patch", "application/octet-stream", "text/x-patch"),
        ("fix.diff", "application/octet-stream", "text/x-diff"),
        ("dump.tgz", "binary/octet-stream", "application/gzip"),
        ("data.bin", "application/octet-stream", "application/octet-stream"),
        ("noext", "application/octet-stream", "application/octet-stream"),
        # A declared type is kept, whatever the name says.
        ("shot.png", "text/plain", "text/plain"),
    ],
)
def test_the_effective_type_comes_from_the_name_only_when_the_declared_one_says_nothing(
    name, declared, effective
):
    """application/octet-stream or no type defers to the name; a declared type stands."""
    assert effective_type(name, declared) == effective


def test_a_declared_type_with_parameters_and_capitals_is_read_bare():
    """``Text/Plain; charset=utf-8`` is text/plain, and the file is stored as that."""
    (found,) = plan([("a.txt", "Text/Plain; charset=utf-8", LOG)])
    assert found == stored(0, "a.txt", "text/plain", LOG)


def test_a_log_sent_as_octet_stream_is_stored_as_text():
    """Mail clients send .log files as application/octet-stream: the name says text."""
    (found,) = plan([("server.log", "application/octet-stream", LOG)])
    assert found == stored(0, "server.log", "text/plain", LOG)


def test_an_unknown_octet_stream_is_not_allowed():
    """A file neither its type nor its name explains is listed, type-not-allowed."""
    (found,) = plan([("core.dump", "application/octet-stream", b"\x00\x01")])
    assert found == ListedFile(
        0, FileReason.TYPE_NOT_ALLOWED, "application/octet-stream is not among the route's types"
    )


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("image/png", PNG),
        ("image/jpeg", JPEG),
        ("image/gif", GIF),
        ("image/gif", b"GIF87a\x01\x00"),
        ("image/webp", WEBP),
        ("application/pdf", PDF),
        ("application/zip", ZIP),
        ("application/zip", b"PK\x05\x06" + b"\x00" * 18),
        ("application/gzip", GZIP),
        ("text/plain", LOG),
        ("text/csv", b"a,b\n1,2\n"),
        ("application/json", b'{"a": 1}'),
        # NUL only after the first 8 KB: text as far as the probe reads.
        ("text/plain", b"x" * 8192 + b"\x00"),
        ("text/plain", "héllo wörld\n".encode()),
        # Windows PowerShell's Out-File writes UTF-16 with a byte-order mark.
        ("text/plain", "error at line 1\r\n".encode("utf-16")),
        ("text/plain", b"\xfe\xff" + "x".encode("utf-16-be")),
    ],
)
def test_content_that_is_what_its_type_says_is_stored(content_type, content):
    """Each allowed type with matching bytes is stored; raster images inline, the rest linked."""
    assert not contradicts(content_type, content)
    found = only(plan([("file", content_type, content)]))
    assert isinstance(found, StoredFile)
    assert found.inline == (content_type in {"image/png", "image/jpeg", "image/gif", "image/webp"})


@pytest.mark.parametrize(
    ("content_type", "content", "detail"),
    [
        ("image/png", GIF, "its content is a GIF image, not a PNG image"),
        ("image/png", b"<svg onload=alert(1)>", "its content is not a PNG image"),
        ("image/jpeg", PNG, "its content is a PNG image, not a JPEG image"),
        ("image/gif", b"GIF88a", "its content is not a GIF image"),
        # RIFF alone is a WAV or AVI as much as a WebP.
        ("image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt ", "its content is not a WebP image"),
        ("image/webp", b"XXXX\x24\x00\x00\x00WEBP", "its content is not a WebP image"),
        ("application/pdf", b"<html>", "its content is not a PDF document"),
        ("application/zip", PDF, "its content is a PDF document, not a zip archive"),
        ("application/gzip", b"gz", "its content is not a gzip file"),
        ("text/plain", PNG, "its content is a PNG image, not text/plain"),
        ("text/plain", b"abc\x00def", "its content is not text/plain"),
        ("application/json", b"{\x00}", "its content is not application/json"),
    ],
)
def test_content_that_contradicts_its_type_is_listed_type_mismatch(content_type, content, detail):
    """A mislabelled file is never served as the type it claims."""
    assert only(plan([("file", content_type, content)])) == ListedFile(
        0, FileReason.TYPE_MISMATCH, detail
    )


def test_a_type_the_content_cannot_tell_is_taken_as_declared():
    """A route may allow a type without a magic number (an Office document)."""
    settings = replace(LINK, types=("application/msword",))
    found = only(plan([("memo.doc", "application/msword", b"\xd0\xcf\x11\xe0")], settings))
    assert isinstance(found, StoredFile)
    assert (found.name, found.content_type, found.inline) == (
        "memo.doc",
        "application/msword",
        False,
    )


def test_sniffing_reads_the_magic_of_each_type():
    """The magic numbers name the types they belong to, and nothing else."""
    assert [sniffed_type(c) for c in (PNG, JPEG, GIF, WEBP, PDF, ZIP, GZIP, LOG, b"")] == [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "application/zip",
        "application/gzip",
        None,
        None,
    ]


# --- programs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"MZ\x90\x00\x03", "a Windows or DOS program"),
        (b"\x7fELF\x02\x01\x01", "a Linux or Unix program (ELF)"),
        (b"\xcf\xfa\xed\xfe\x07\x00", "a macOS program (Mach-O)"),
        (b"\xfe\xed\xfa\xce\x00", "a macOS program (Mach-O)"),
        (b"\xca\xfe\xba\xbe\x00\x00", "a Java class or macOS program"),
        (b"#!/bin/sh\nrm -rf ~\n", "a script (#!)"),
        (b"\x00asm\x01\x00\x00\x00", "a WebAssembly module"),
        (b"dex\n035\x00", "an Android program (DEX)"),
        (b"L\x00\x00\x00\x01\x14\x02\x00\x00", "a Windows shortcut"),
    ],
)
def test_a_program_by_its_bytes_is_listed_whatever_its_name_and_type(content, what):
    """A program sent as notes.txt, text/plain, is still a program."""
    assert program(content) == what
    assert only(plan([("notes.txt", "text/plain", content)])) == ListedFile(
        0, FileReason.EXECUTABLE, f"its content is {what}"
    )


@pytest.mark.parametrize(
    ("name", "ending"),
    [
        ("setup.exe", ".exe"),
        ("SETUP.EXE", ".exe"),
        ("invoice.pdf.exe", ".exe"),
        # Windows drops trailing dots and spaces: "evil.exe. " runs as evil.exe.
        ("evil.exe. ", ".exe"),
        ("evil.exe...", ".exe"),
        # Fullwidth letters read as ASCII once NFKC-normalised.
        ("evil.\uff45\uff58\uff45", ".exe"),
        ("run.bat", ".bat"),
        ("run.cmd", ".cmd"),
        ("script.ps1", ".ps1"),
        ("script.vbs", ".vbs"),
        ("script.js", ".js"),
        ("app.jar", ".jar"),
        ("app.apk", ".apk"),
        ("install.sh", ".sh"),
        ("page.hta", ".hta"),
        ("link.lnk", ".lnk"),
        ("panel.cpl", ".cpl"),
        ("keys.reg", ".reg"),
        ("setup.msi", ".msi"),
        ("screen.scr", ".scr"),
        ("budget.xlsm", ".xlsm"),
        ("disk.iso", ".iso"),
        ("tool.py", ".py"),
        ("C:\\Users\\me\\evil.exe", ".exe"),
    ],
)
def test_a_program_by_its_name_is_listed(name, ending):
    """Text content does not save a file whose name a desktop would run."""
    assert only(plan([(name, "text/plain", LOG)])) == ListedFile(
        0, FileReason.EXECUTABLE, f"its name ends in {ending}, a program's"
    )


@pytest.mark.parametrize(
    "declared",
    ["application/x-msdownload", "application/x-sh", "text/javascript", "application/java-archive"],
)
def test_a_program_by_its_declared_type_is_listed(declared):
    """A file declared as a program or script is listed, whatever its bytes."""
    assert only(plan([("data.bin", declared, b"\x01\x02")])) == ListedFile(
        0, FileReason.EXECUTABLE, f"its type {declared} is a program's"
    )


def test_a_text_file_whose_name_mentions_exe_is_not_a_program():
    """Only the last extension is what a desktop runs: setup.exe.txt is text."""
    found = only(plan([("setup.exe.txt", "text/plain", LOG)]))
    assert isinstance(found, StoredFile)
    assert found.name == "setup.exe.txt"


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("a.EXE", ".exe"),
        ("archive.tar.gz", ".gz"),
        ("noext", ""),
        (".bashrc", ""),
        ("trailing.", ""),
        ("", ""),
        ("dir/evil.exe", ".exe"),
    ],
)
def test_a_name_s_extension_is_read_as_windows_reads_it(name, found):
    """Case, folders and trailing dots do not hide an extension; a dotfile has none."""
    assert extension(name) == found


def test_every_program_extension_is_lowercase_and_dotted():
    """The table is in the form extension() compares against."""
    assert all(e.startswith(".") and e == e.lower() for e in PROGRAM_EXTENSIONS)


# --- safe names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "safe"),
    [
        ("screenshot.png", "image/png", "screenshot.png"),
        ("IMG_0001.JPG", "image/jpeg", "IMG_0001.jpg"),
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("server.log", "text/plain", "server.log"),
        ("notes", "text/plain", "notes.txt"),
        ("", "image/png", "file.png"),
        # The extension must be the type's: what opens the download opens it as checked.
        ("evil.exe", "application/pdf", "evil.exe.pdf"),
        ("report.docx", "application/pdf", "report.docx.pdf"),
        ("shot.jpg", "image/png", "shot.jpg.png"),
        ("data.foo", "application/x-foo", "data.foo.bin"),
        # Folders and traversal never reach the path.
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("..\\..\\windows\\win.ini", "text/plain", "win.ini"),
        ("/abs/path/log.txt", "text/plain", "log.txt"),
        ("%2e%2e%2fetc%2fpasswd", "text/plain", "2e-2e-2fetc-2fpasswd.txt"),
        ("a\u2215b\uff0fc.txt", "text/plain", "a-b-c.txt"),
        # Spaces, punctuation and markup become one dash; leading and trailing ones go.
        ("my report (final) v2.pdf", "application/pdf", "my-report-final-v2.pdf"),
        ('<img src=x onerror="alert(1)">.png', "image/png", "img-src-x-onerror-alert-1.png"),
        ("[link](javascript:alert(1)).txt", "text/plain", "link-javascript-alert-1.txt"),
        ("a\r\nb\tc\x00d.txt", "text/plain", "a-b-c-d.txt"),
        ("---.hidden.txt", "text/plain", "hidden.txt"),
        (".env", "text/plain", "env.txt"),
        ("...", "text/plain", "file.txt"),
        ("-", "text/plain", "file.txt"),
        (" .png", "image/png", "png.png"),
        # Bidi overrides that would show "exe.pdf" as "fdp.exe" are gone.
        ("invoice\u202efdp.exe", "application/pdf", "invoice-fdp.exe.pdf"),
        ("zero\u200bwidth.txt", "text/plain", "zero-width.txt"),
        # Letters of every script are kept, NFC: é is one character however it came.
        ("re\u0301sume\u0301.pdf", "application/pdf", "r\u00e9sum\u00e9.pdf"),
        ("скриншот.png", "image/png", "скриншот.png"),
        ("截图 2024.png", "image/png", "截图-2024.png"),
        ("हिन्दी.txt", "text/plain", "हिन्दी.txt"),
        ("emoji 🐛 bug.txt", "text/plain", "emoji-bug.txt"),
        # 8-bit bytes of a name the mail did not declare a charset for arrive as surrogates.
        ("caf\udce9.txt", "text/plain", "caf.txt"),
        # Device names Windows reserves cannot be checked out there.
        ("CON.txt", "text/plain", "CON-file.txt"),
        ("nul", "text/plain", "nul-file.txt"),
        ("lpt1.log", "text/plain", "lpt1-file.log"),
        ("console.txt", "text/plain", "console.txt"),
    ],
)
def test_safe_names(name, content_type, safe):
    """Hostile, foreign and plain names become one plain file name of the type."""
    assert safe_name(name, content_type) == safe


def test_a_long_name_keeps_its_first_80_characters_and_its_extension():
    """A stem is cut at MAX_STEM characters and never ends in a dash or dot."""
    long = "a" * 300 + ".log"
    assert safe_name(long, "text/plain") == "a" * MAX_STEM + ".log"
    # Cutting never leaves a dash or dot at the end of the stem.
    assert safe_name("b" * 79 + "-c" * 10 + ".txt", "text/plain") == "b" * 79 + ".txt"


_ALLOWED_TYPES = sorted(EXTENSIONS)


@given(st.text(max_size=300), st.sampled_from([*_ALLOWED_TYPES, "application/x-unknown"]))
def test_a_safe_name_is_always_one_plain_file_name_ending_in_its_type(name, content_type):
    """Whatever the sender wrote: no folder, no control or format character, no leading dot or
    dash, a stem of at most MAX_STEM characters, an extension of the type."""
    safe = safe_name(name, content_type)
    stem, _, ending = safe.rpartition(".")
    assert "/" not in safe
    assert "\\" not in safe
    assert safe == unicodedata.normalize("NFC", safe)
    assert all(
        ch in "._-" or unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) == "Nd"
        for ch in safe
    )
    assert stem[:1] not in {"", ".", "-", "_"}
    assert stem[-1] not in ".-_"
    assert "--" not in safe
    assert len(stem) <= MAX_STEM + len("-file")
    assert f".{ending}" in EXTENSIONS.get(content_type, (".bin",))
    assert extension(safe) not in PROGRAM_EXTENSIONS


def test_names_are_unique_within_a_mail_ignoring_case():
    """Two files named alike are log.txt and log-2.txt; Log.txt would clash on macOS."""
    plans = plan(
        [
            ("log.txt", "text/plain", LOG),
            ("Log.txt", "text/plain", LOG),
            ("log.txt", "text/plain", LOG),
            ("log-2.txt", "text/plain", LOG),
            ("a/log.txt", "text/plain", LOG),
        ]
    )
    assert [p.name for p in plans if isinstance(p, StoredFile)] == [
        "log.txt",
        "Log-2.txt",
        "log-3.txt",
        "log-2-2.txt",
        "log-4.txt",
    ]
    paths = [p.place.path for p in plans if isinstance(p, StoredFile)]
    assert len({path.casefold() for path in paths}) == 5


def test_a_name_without_extension_is_numbered_at_its_end():
    """README, README-2, readme-3: case is ignored, the number goes last."""
    names = UniqueNames()
    assert [names.take(n) for n in ("README", "README", "readme")] == [
        "README",
        "README-2",
        "readme-3",
    ]


def test_listed_files_take_no_name():
    """Only stored files are named: a listed one cannot push a stored one to log-2.txt."""
    plans = plan([("log.txt", "text/plain", b""), ("log.txt", "text/plain", LOG)])
    assert plans[1] == stored(1, "log.txt", "text/plain", LOG)


# --- where files go ---------------------------------------------------------------------------


def test_github_storage_commits_to_the_route_s_repository_under_the_day_and_mail():
    """By default a file goes to the route's repository, branch ticket-router-attachments,
    at YYYY/MM/DD/<mail>/<name>."""
    assert only(plan([("a.png", "image/png", PNG)])) == StoredFile(
        0,
        "a.png",
        "image/png",
        True,
        GitHubPlace(
            "https://github.com",
            "example-org/website",
            "ticket-router-attachments",
            f"2024/02/29/{MAIL}/a.png",
        ),
        PNG,
    )


def test_a_companion_repository_and_branch_are_used_when_the_route_names_them():
    """repository and branch move the files; the links follow them."""
    settings = replace(LINK, repository="example-org/files", branch="mail/files")
    found = only(plan([("a.png", "image/png", PNG)], settings))
    assert isinstance(found, StoredFile)
    assert found.place == GitHubPlace(
        "https://github.com", "example-org/files", "mail/files", f"{DAY}/{MAIL}/a.png"
    )
    assert found.place.url == (
        f"https://github.com/example-org/files/blob/mail/files/{DAY}/{MAIL}/a.png"
    )
    assert found.place.image_url == (
        f"https://github.com/example-org/files/raw/mail/files/{DAY}/{MAIL}/a.png"
    )


def test_a_mail_whose_arrival_is_unknown_is_filed_undated():
    """Without SES's time of arrival the path starts undated/."""
    found = only(plan([("a.png", "image/png", PNG)], received_at=None))
    assert isinstance(found, StoredFile)
    assert found.place == GitHubPlace(
        "https://github.com",
        "example-org/website",
        "ticket-router-attachments",
        f"undated/{MAIL}/a.png",
    )


@pytest.mark.parametrize(
    ("received_at", "folder"),
    [
        (RECEIVED, "2024/02/29"),
        (RECEIVED + 1, "2024/03/01"),
        (0.0, "1970/01/01"),
        (None, "undated"),
        (1e20, "undated"),
        (float("nan"), "undated"),
    ],
)
def test_the_day_folder_is_the_utc_day_of_arrival(received_at, folder):
    """The day is UTC's; a time no calendar holds is undated."""
    assert day_folder(received_at) == folder


def test_github_paths_name_the_day_mail_and_file():
    """A path is the day, the mail key and the name, in that order."""
    assert github_path(MAIL, RECEIVED, "a.png") == f"2024/02/29/{MAIL}/a.png"


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        (None, "https://github.com"),
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com:8443/api/v3/", "https://ghe.example.com:8443"),
        ("https://example.com/github/api/v3", "https://example.com/github"),
        ("https://api.octo.ghe.com", "https://octo.ghe.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://127.0.0.1:8123/", "http://127.0.0.1:8123"),
    ],
)
def test_links_point_at_the_web_host_of_the_route_s_api(api_url, web):
    """github.com, an Enterprise Server, GHE.com and the loopback GitHub: each its web host."""
    assert web_host(api_url, "https://github.com") == web


def test_without_an_api_url_the_deployment_s_web_host_is_used():
    """The deployment's web host applies unless the route names its own API."""
    deployment = Deployment(github_web="https://ghe.example.com")
    found = only(plan([("a.png", "image/png", PNG)], deployment=deployment))
    assert isinstance(found, StoredFile)
    assert isinstance(found.place, GitHubPlace)
    assert found.place.web == "https://ghe.example.com"
    routed = only(plan([("a.png", "image/png", PNG)], api_url="https://gh.example.org/api/v3"))
    assert isinstance(routed, StoredFile)
    assert isinstance(routed.place, GitHubPlace)
    assert routed.place.web == "https://gh.example.org"


def test_s3_keys_are_unguessable_without_the_file_and_the_same_on_a_retry():
    """<mail>/<token>/<name>, the token sha256(mail, index, sha256(content)) cut to 32 hex."""
    plans = plan([("a.png", "image/png", PNG), ("a.png", "image/png", PNG)], S3, deployment=BUCKET)
    seed0 = f"{MAIL}\n0\n".encode() + hashlib.sha256(PNG).digest()
    seed1 = f"{MAIL}\n1\n".encode() + hashlib.sha256(PNG).digest()
    token0, token1 = (hashlib.sha256(seed).hexdigest()[:32] for seed in (seed0, seed1))
    assert plans == (
        StoredFile(
            0, "a.png", "image/png", True, S3Place(BUCKET.s3_base, f"{MAIL}/{token0}/a.png"), PNG
        ),
        StoredFile(
            1,
            "a-2.png",
            "image/png",
            True,
            S3Place(BUCKET.s3_base, f"{MAIL}/{token1}/a-2.png"),
            PNG,
        ),
    )
    assert token0 != token1
    assert s3_key(MAIL, 0, PNG + b"x", "a.png") != f"{MAIL}/{token0}/a.png"
    assert plans[0].place.url == f"{BUCKET.s3_base}/{MAIL}/{token0}/a.png"


def test_a_url_escapes_what_a_name_may_hold():
    """Names keep letters of every script; their links are percent-encoded."""
    found = only(plan([("скриншот 1.png", "image/png", PNG)]))
    assert isinstance(found, StoredFile)
    assert found.place.url.endswith(
        f"/{MAIL}/%D1%81%D0%BA%D1%80%D0%B8%D0%BD%D1%88%D0%BE%D1%82-1.png"
    )


# --- work grows with the files, not their square -----------------------------------------------


def _alike(count: int) -> tuple[list[File], dict[int, bytes]]:
    """``count`` files named log.txt, and as many named like the numbered names they take."""
    files = [File("log.txt", "text/plain")] * count
    files += [File(f"log-{n}.txt", "text/plain") for n in range(2, count + 2)]
    return files, dict.fromkeys(range(len(files)), b"x")


def _tries(count: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many numbered names planning ``_alike(count)`` tries."""
    tried = 0
    original = names_module.numbered

    def counted(stem: str, ending: str, number: int) -> str:
        nonlocal tried
        tried += 1
        return original(stem, ending, number)

    monkeypatch.setattr(names_module, "numbered", counted)
    files, contents = _alike(count)
    settings = replace(LINK, max_files=len(files), max_mail_size=len(files))
    plans = _plan(files, contents, settings)
    assert all(isinstance(p, StoredFile) for p in plans)
    return tried


def _plan(
    files: Sequence[File], contents: Mapping[int, bytes], settings: AttachmentSettings
) -> tuple[FilePlan, ...]:
    return plan_files(
        files,
        contents,
        settings=settings,
        repo="o/r",
        mail=MAIL,
        virus="PASS",
        received_at=RECEIVED,
        api_url=None,
        deployment=Deployment(),
    )


def test_naming_n_files_of_one_name_tries_about_n_names_not_n_squared(monkeypatch):
    """Each name remembers the next number to try: 8x the files cost 8x the tries, not 64x."""
    small, large = _tries(50, monkeypatch), _tries(400, monkeypatch)
    assert small > 0
    # Quadratic naming would try about 64 times as many.
    assert large < 9 * small


def test_planning_grows_linearly_with_the_files():
    """Judging, naming and placing n files costs O(n) (CPU, not the wall clock)."""

    def work(size: int) -> None:
        files, contents = _alike(size // 2)
        _plan(files, contents, replace(LINK, max_files=size, max_mail_size=size))

    assert growth(work, 400) < MAX_GROWTH


def test_a_path_github_path_wrote_reads_back_as_its_mail_and_day():
    """What the sweep and a removal read from a branch's paths; anything else is not ours."""
    mail = "0123456789abcdef0123456789abcdef"
    received = datetime(2026, 12, 7, 23, 59, tzinfo=UTC).timestamp()
    assert stored_path(github_path(mail, received, "shot.png")) == StoredPath(
        mail, date(2026, 12, 7)
    )
    assert stored_path(github_path(mail, None, "shot.png")) == StoredPath(mail, None)
    assert stored_path(f"2026/13/40/{mail}/shot.png") == StoredPath(mail, None)
    for other in ("README.md", f"2026/12/07/{mail}", f"2026/12/07/{mail[:-1]}/a", "x/y/z/a/b"):
        assert stored_path(other) is None
    assert s3_key(mail, 0, b"x", "a.png").startswith(s3_prefix(mail))
