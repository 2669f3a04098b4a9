"""A route's ``attachments``: the shorthand and the mapping read into settings, defaults, the
errors `check` prints, and routes.json carrying them."""

from __future__ import annotations

import pytest

from handler.attachments.model import (
    DEFAULT_TYPES,
    MB,
    AttachmentSettings,
)
from handler.routing import Routes, RoutesError, load_routes, parse_routes, routes_json
from handler.routing.attachments import size, written_size
from handler.routing.packaged import FORMAT

HEAD = "routes:\n  - domain: issues.example.com\n    repo: o/site\n    allowed_senders: [a.org]\n"
# Where the attachments value of HEAD's route starts when written on its own line.
VALUE = "5:18"


def settings(value: str, defaults: str = "") -> AttachmentSettings:
    """The settings of a route whose ``attachments:`` is ``value`` (YAML)."""
    text = (f"defaults:\n  attachments: {defaults}\n" if defaults else "") + HEAD
    if value:
        text += f"    attachments: {value}\n"
    return parse_routes(text, "routes.yaml").routes[0].attachments


def errors(value: str, defaults: str = "") -> list[str]:
    """What `check` says of the route with ``attachments: value``."""
    text = (f"defaults:\n  attachments: {defaults}\n" if defaults else "") + HEAD
    if value:
        text += f"    attachments: {value}\n"
    with pytest.raises(RoutesError) as caught:
        parse_routes(text, "routes.yaml")
    return list(caught.value.errors)


ROUTE = "route 1 (issues.example.com)"


# --- reading ----------------------------------------------------------------------------------


def test_a_route_without_attachments_lists_them_as_ever():
    """No attachments key: files are listed, as before the setting existed."""
    assert settings("") == AttachmentSettings()
    assert settings("").mode == "list"


@pytest.mark.parametrize("mode", ["list", "link"])
def test_the_shorthand_is_the_mode_with_every_default(mode):
    """attachments: link is {mode: link}; list is the default."""
    assert settings(mode) == AttachmentSettings(mode=mode)


def test_the_mapping_gives_every_setting():
    """Every key of the mapping is read, sizes in bytes and names stripped."""
    found = settings(
        "{mode: link, storage: github, repository: ' example-org/files ', branch: mail/files, "
        "types: [image/png, ' text/plain'], max_file_size: 1.5MB, max_mail_size: 2MB, "
        "max_files: 5, retention_days: 90}"
    )
    assert found == AttachmentSettings(
        mode="link",
        storage="github",
        repository="example-org/files",
        branch="mail/files",
        types=("image/png", "text/plain"),
        max_file_size=1572864,
        max_mail_size=2 * MB,
        max_files=5,
        retention_days=90,
    )


def test_a_mapping_leaves_out_what_takes_its_default():
    """A key left out takes the built-in default; mode too."""
    assert settings("{mode: link}") == AttachmentSettings(mode="link")
    assert settings("{storage: s3}") == AttachmentSettings(mode="list", storage="s3")
    assert settings("{mode: link}").types == DEFAULT_TYPES


def test_s3_storage_may_store_files_larger_than_github_s_limit():
    """The 25MB limit is github storage's, not S3's."""
    found = settings("{mode: link, storage: s3, max_file_size: 30MB, max_mail_size: 40MB}")
    assert (found.max_file_size, found.max_mail_size) == (30 * MB, 40 * MB)


def test_defaults_give_every_route_the_setting_and_a_route_s_own_replaces_it_whole():
    """A route's attachments is not merged with the default's: list means list, with defaults."""
    assert settings("", defaults="{mode: link, max_files: 3}") == AttachmentSettings(
        mode="link", max_files=3
    )
    assert settings("list", defaults="{mode: link, max_files: 3}") == AttachmentSettings()
    assert settings("{max_files: 4}", defaults="link") == AttachmentSettings(max_files=4)


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("10MB", 10 * MB),
        ("10mb", 10 * MB),
        ("10 MB", 10 * MB),
        ("500KB", 500 * 1024),
        ("1.5MB", 1572864),
        ("0.5KB", 512),
        ("1048576", MB),
        (2048, 2048),
        ("  25MB ", 25 * MB),
        ("10", 10),
        ("1.5", None),
        ("10M", None),
        ("10 GB", None),
        ("-1MB", None),
        ("MB", None),
        ("", None),
        ("1e6", None),
        (True, None),
        (1.5, None),
        (None, None),
        ("9" * 13, None),
    ],
)
def test_sizes_are_bytes_kb_or_mb(written, found):
    """A size is bytes, KB or MB (of 1,024), any case; nothing else."""
    assert size(written) == found


@pytest.mark.parametrize(
    ("value", "text"),
    [(10 * MB, "10MB"), (512000, "500KB"), (1572864, "1536KB"), (1000, "1000 bytes")],
)
def test_sizes_in_messages_are_written_as_a_routes_file_would(value, text):
    """Messages write sizes back in the largest whole unit."""
    assert written_size(value) == text


@pytest.mark.parametrize(
    "branch",
    [
        "ticket-router-attachments",
        "attachments/mail",
        "a.b",
        "files-2024",
        "ünïcode",
        "x" * 255,
    ],
)
def test_valid_branch_names_are_accepted(branch):
    """Names git accepts, folders and Unicode included, are kept as written."""
    assert settings(f"{{mode: link, branch: '{branch}'}}").branch == branch


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            "lnk",
            f'routes.yaml:{VALUE}: {ROUTE}: attachments "lnk" is neither list nor link: write '
            "list, link or a mapping such as {mode: link, storage: github}",
        ),
        (
            "Link",
            f'routes.yaml:{VALUE}: {ROUTE}: attachments "Link" is neither list nor link: write '
            "list, link or a mapping such as {mode: link, storage: github}",
        ),
        (
            "true",
            f"routes.yaml:{VALUE}: {ROUTE}: attachments must be list, link or a mapping, not the "
            "boolean true",
        ),
        (
            "[link]",
            f"routes.yaml:{VALUE}: {ROUTE}: attachments must be list, link or a mapping, not a "
            "list",
        ),
        (
            "{mode: links}",
            f'routes.yaml:5:25: {ROUTE}: attachments.mode must be list or link, not "links"',
        ),
        (
            "{storage: gcs}",
            f'routes.yaml:5:28: {ROUTE}: attachments.storage must be github or s3, not "gcs"',
        ),
        (
            "{colour: red}",
            f"routes.yaml:{VALUE}: {ROUTE}: attachments: unknown key colour; the known keys are "
            "branch, max_file_size, max_files, max_mail_size, mode, repository, retention_days, "
            "storage, types",
        ),
        (
            "{max_size: 1MB}",
            f"routes.yaml:{VALUE}: {ROUTE}: attachments: unknown key max_size (did you mean "
            "max_mail_size?); the known keys are branch, max_file_size, max_files, max_mail_size, "
            "mode, repository, retention_days, storage, types",
        ),
        (
            "{storage: s3, repository: o/files}",
            f"routes.yaml:5:44: {ROUTE}: attachments.repository is for github storage: storage "
            "s3 puts files in the deployment's attachments bucket",
        ),
        (
            "{storage: s3, branch: files}",
            f"routes.yaml:5:40: {ROUTE}: attachments.branch is for github storage: storage s3 "
            "puts files in the deployment's attachments bucket",
        ),
        (
            "{repository: files}",
            f'routes.yaml:5:31: {ROUTE}: attachments.repository "files" is not of the form '
            "owner/name (e.g. example-org/attachments)",
        ),
        (
            "{repository: o/files.git}",
            f'routes.yaml:5:31: {ROUTE}: attachments.repository "o/files.git" ends in .git: '
            "write owner/name without it",
        ),
        (
            "{repository: ''}",
            f"routes.yaml:5:31: {ROUTE}: attachments.repository is empty",
        ),
        (
            "{types: []}",
            f"routes.yaml:5:26: {ROUTE}: attachments.types is empty: list at least one type, or "
            "leave types out",
        ),
        (
            "{types: [Image/PNG]}",
            f'routes.yaml:5:27: {ROUTE}: attachments.types entry "Image/PNG" is not lowercase: '
            "write image/png",
        ),
        (
            "{types: ['image/*']}",
            f'routes.yaml:5:27: {ROUTE}: attachments.types entry "image/*" lists no one type: '
            "write each (image/png, image/jpeg), not wildcards",
        ),
        (
            "{types: [png]}",
            f'routes.yaml:5:27: {ROUTE}: attachments.types entry "png" is not a media type such '
            "as image/png",
        ),
        (
            "{types: [text/plain, image/png, text/plain]}",
            f'routes.yaml:5:50: {ROUTE}: attachments.types entry "text/plain" is listed twice',
        ),
        (
            "{types: [application/x-msdownload]}",
            f'routes.yaml:5:27: {ROUTE}: attachments.types entry "application/x-msdownload" is '
            "the type of programs or scripts, which are never stored",
        ),
        (
            "{types: [text/javascript]}",
            f'routes.yaml:5:27: {ROUTE}: attachments.types entry "text/javascript" is the type of '
            "programs or scripts, which are never stored",
        ),
        (
            "{max_file_size: 10M}",
            f'routes.yaml:5:34: {ROUTE}: attachments.max_file_size "10M" is not a size: write '
            "e.g. 10MB, 500KB, 1.5MB or a number of bytes",
        ),
        (
            "{max_mail_size: 0MB}",
            f"routes.yaml:5:34: {ROUTE}: attachments.max_mail_size must be at least 1 byte, "
            'not "0MB"',
        ),
        (
            "{max_file_size: 0}",
            f"routes.yaml:5:34: {ROUTE}: attachments.max_file_size must be at least 1, not the "
            "number 0",
        ),
        (
            "{max_file_size: [1MB]}",
            f"routes.yaml:5:34: {ROUTE}: attachments.max_file_size must be a size such as 10MB, "
            "not a list",
        ),
        (
            "{max_file_size: 26MB}",
            f"routes.yaml:5:34: {ROUTE}: attachments.max_file_size 26MB is too large for github "
            "storage: at most 25MB",
        ),
        (
            "{max_file_size: 20MB, max_mail_size: 15MB}",
            f"routes.yaml:5:34: {ROUTE}: attachments.max_file_size 20MB is larger than "
            "attachments.max_mail_size (15MB): no file that large could be stored",
        ),
        (
            "{storage: s3, max_file_size: 30MB}",
            f"routes.yaml:5:47: {ROUTE}: attachments.max_file_size 30MB is larger than "
            "attachments.max_mail_size (25MB, the default): no file that large could be stored",
        ),
        (
            "{max_files: 0}",
            f"routes.yaml:5:30: {ROUTE}: attachments.max_files must be at least 1, not the "
            "number 0",
        ),
        (
            "{max_files: 101}",
            f"routes.yaml:5:30: {ROUTE}: attachments.max_files must be at most 100, not the "
            "number 101",
        ),
        (
            "{max_files: many}",
            f'routes.yaml:5:30: {ROUTE}: attachments.max_files must be a whole number, not "many"',
        ),
        (
            "{retention_days: 0}",
            f"routes.yaml:5:35: {ROUTE}: attachments.retention_days must be at least 1, not the "
            "number 0",
        ),
        (
            "{retention_days: 30d}",
            f"routes.yaml:5:35: {ROUTE}: attachments.retention_days must be a whole number, not "
            '"30d"',
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_route_and_key(value, error):
    """Every wrong value is one line with its place, route and key."""
    assert errors(value) == [error]


@pytest.mark.parametrize(
    "branch",
    [
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\\\b",
        "-a",
        "/a",
        "a/",
        "a//b",
        ".a",
        "a/.b",
        "a.",
        "a.lock",
        "a.lock/b",
        "a@{1}",
        "@",
        "HEAD",
        "a\\tb",
    ],
)
def test_a_branch_git_would_refuse_is_refused(branch):
    """Each rule of git check-ref-format refuses a branch name."""
    (error,) = errors(f'{{branch: "{branch}"}}')
    assert error.startswith(f"routes.yaml:5:27: {ROUTE}: attachments.branch ")
    assert error.endswith(
        "is not a valid branch name: no spaces, no ~ ^ : ? * [ \\ or .., no part starting with . "
        "or ending in .lock (git check-ref-format)"
    )


def test_a_branch_longer_than_github_takes_is_refused():
    """GitHub takes ref names up to 255 bytes."""
    assert errors(f"{{branch: {'x' * 256}}}") == [
        f"routes.yaml:5:27: {ROUTE}: attachments.branch is too long: at most 255 bytes"
    ]


def test_every_mistake_of_one_mapping_is_reported_in_the_order_written():
    """All mistakes of one mapping at once, in file order."""
    found = errors("{storage: s3, branch: x, types: [PNG], max_file_size: big, max_files: 0}")
    assert [error.split(": ", 2)[2].split(" ", 1)[0] for error in found] == [
        "attachments.branch",
        "attachments.types",
        "attachments.max_file_size",
        "attachments.max_files",
    ]


def test_a_default_s_mistake_is_reported_once_as_the_default_s():
    """A wrong default is the default's error, not each route's."""
    text = "defaults:\n  attachments: {max_file_size: 30MB}\n" + HEAD + HEAD.split("\n", 1)[1]
    text = text.replace("issues.example.com", "a.example.com", 1)
    with pytest.raises(RoutesError) as caught:
        parse_routes(text, "routes.yaml")
    assert caught.value.errors == (
        "routes.yaml:2:32: defaults: attachments.max_file_size 30MB is too large for github "
        "storage: at most 25MB",
    )


def test_a_default_s_mistake_is_not_blamed_on_a_route_that_replaces_it():
    """Only the default is wrong: the route's own value stands."""
    assert errors("list", defaults="lnk") == [
        'routes.yaml:2:16: defaults: attachments "lnk" is neither list nor link: write list, '
        "link or a mapping such as {mode: link, storage: github}"
    ]


# --- routes.json ------------------------------------------------------------------------------


def test_routes_json_carries_each_route_s_settings(tmp_path):
    """Settings other than the defaults come back from routes.json as validated."""
    text = (
        "defaults:\n  allowed_senders: [a.org]\n  attachments: link\nroutes:\n"
        "  - {domain: a.example.com, repo: o/a}\n"
        "  - {domain: b.example.com, repo: o/b, attachments: {mode: link, storage: s3, "
        "types: [image/png], max_file_size: 30MB, max_mail_size: 40MB, max_files: 3, "
        "retention_days: 30}}\n"
        "  - {domain: c.example.com, repo: o/c, attachments: {mode: link, repository: o/files, "
        "branch: files}}\n"
        "  - {domain: d.example.com, repo: o/d, attachments: list}\n"
    )
    path = tmp_path / "routes.json"
    packaged = routes_json(text, "routes.yaml")
    path.write_text(packaged)
    parsed = parse_routes(text, "routes.yaml")
    loaded = load_routes(path)
    assert loaded == Routes(parsed.routes, str(path))
    assert [route.attachments for route in loaded.routes] == [
        AttachmentSettings(mode="link"),
        AttachmentSettings(
            mode="link",
            storage="s3",
            types=("image/png",),
            max_file_size=30 * MB,
            max_mail_size=40 * MB,
            max_files=3,
            retention_days=30,
        ),
        AttachmentSettings(mode="link", repository="o/files", branch="files"),
        AttachmentSettings(),
    ]
    # Only what differs from the defaults is written; a listing route writes nothing.
    assert '\\"attachments\\":{\\"mode\\":\\"link\\"}' in packaged
    assert packaged.count("attachments") == 3


def test_a_routes_json_of_the_format_before_attachments_is_refused(tmp_path):
    """A routes.json from before routes carried attachments is packaged again, not misread."""
    path = tmp_path / "routes.json"
    text = routes_json(HEAD, "routes.yaml").replace(FORMAT, "ticket-router routes 1")
    path.write_text(text)
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    (error,) = caught.value.errors
    assert "not a routes.json of this version's `make package`" in error
