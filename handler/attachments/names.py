"""The names files are stored under, and what a name's extension says: its type, or that it is a
program's. Fixed tables, not the mimetypes module, whose answers depend on the host's
/etc/mime.types. Pure."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

# Each type's extensions, its own first: a stored file's name ends in one of them, so that
# whoever downloads it opens it as the type it was checked to be.
EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/bmp": (".bmp",),
    "image/tiff": (".tif", ".tiff"),
    "image/heic": (".heic",),
    "image/avif": (".avif",),
    "image/svg+xml": (".svg",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".log", ".text", ".out", ".conf", ".cfg", ".ini"),
    "text/csv": (".csv",),
    "text/markdown": (".md", ".markdown"),
    "text/html": (".html", ".htm"),
    "text/calendar": (".ics",),
    "text/x-diff": (".diff", ".patch"),
    "text/x-patch": (".patch", ".diff"),
    "application/json": (".json",),
    "application/x-ndjson": (".ndjson", ".jsonl"),
    "application/xml": (".xml",),
    "text/xml": (".xml",),
    "application/zip": (".zip",),
    "application/gzip": (".gz", ".tgz"),
    "application/x-tar": (".tar",),
    "application/x-xz": (".xz",),
    "application/zstd": (".zst",),
    "application/x-7z-compressed": (".7z",),
    "message/rfc822": (".eml",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "audio/mpeg": (".mp3",),
    "video/mp4": (".mp4",),
    "video/quicktime": (".mov",),
    "video/webm": (".webm",),
}
# A type the tables do not know is stored under this extension: nothing opens it by mistake.
UNKNOWN_EXTENSION = ".bin"
# What a name's extension says its type is: each type's own extension first, so .patch is
# text/x-patch and .diff text/x-diff.
_TYPE_OF: dict[str, str] = {}
for _type, _extensions in EXTENSIONS.items():
    _TYPE_OF.setdefault(_extensions[0], _type)
for _type, _extensions in EXTENSIONS.items():
    for _extension in _extensions:
        _TYPE_OF.setdefault(_extension, _type)
# Declared types that say nothing of the content: the name's extension says more.
UNTYPED = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/unknown",
        "application/x-download",
        "application/download",
        "application/force-download",
    }
)
# Extensions that Windows, macOS, Linux desktops or a browser run or install when the file is
# opened, including Office files with macros and the disk images malware ships programs in.
PROGRAM_EXTENSIONS = frozenset(
    {
        # Windows programs, installers and their parts
        *(".exe", ".dll", ".com", ".scr", ".pif", ".cpl", ".msi", ".msp", ".msc", ".sys"),
        *(".appx", ".appxbundle", ".msix", ".msixbundle", ".application", ".appref-ms"),
        *(".gadget", ".inf", ".scf", ".lnk", ".url", ".reg", ".hta", ".xll", ".ocx", ".drv"),
        # Windows scripts
        *(".bat", ".cmd", ".ps1", ".psm1", ".psd1", ".ps1xml", ".vbs", ".vbe", ".vb"),
        *(".js", ".jse", ".mjs", ".wsf", ".wsh", ".ws", ".wsc", ".sct", ".jar", ".class"),
        # Office files with macros
        *(".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppam", ".ppsm"),
        # macOS, Linux, Android and disk images
        *(".app", ".command", ".dmg", ".pkg", ".mpkg", ".apk", ".xapk", ".aab", ".dex"),
        *(".sh", ".bash", ".zsh", ".csh", ".ksh", ".fish", ".run", ".deb", ".rpm", ".elf"),
        *(".so", ".dylib", ".appimage", ".desktop", ".iso", ".img", ".vhd", ".vhdx"),
        # Interpreted scripts
        *(".py", ".pyw", ".pyz", ".pyc", ".pl", ".rb", ".php", ".lua", ".tcl", ".wasm"),
    }
)
# Declared types of programs and scripts.
PROGRAM_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-dos-executable",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-elf",
        "application/x-mach-binary",
        "application/x-sharedlib",
        "application/vnd.microsoft.portable-executable",
        "application/x-msi",
        "application/x-ms-installer",
        "application/x-ms-shortcut",
        "application/x-bat",
        "application/x-sh",
        "application/x-shellscript",
        "application/x-csh",
        "application/x-powershell",
        "application/java-archive",
        "application/x-java-archive",
        "application/java-vm",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/javascript",
        "text/ecmascript",
        "text/vbscript",
        "application/x-vbscript",
        "application/hta",
        "application/vnd.android.package-archive",
        "application/x-apple-diskimage",
        "application/x-python-code",
        "text/x-python",
        "text/x-shellscript",
        "application/wasm",
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    }
)
# The longest stem kept: names stay readable in a comment and well inside S3's 1,024-byte keys.
MAX_STEM = 80
# Names Windows reserves for devices: a branch holding one cannot be checked out there.
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{kind}{n}" for kind in ("COM", "LPT") for n in range(10)}
)
# Kept besides letters, digits and marks.
_KEPT = frozenset("._-")
_TRIMMED = "-._"


def extension(filename: str) -> str:
    """The extension of ``filename`` lowercased (``.exe``), as Windows reads it: trailing dots
    and spaces ignored, NFKC so that fullwidth letters count; "" when none."""
    name = unicodedata.normalize("NFKC", filename).rstrip(". \t")
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, tail = base.rpartition(".")
    return f".{tail.casefold()}" if dot and stem.strip(".") and tail else ""


def type_of_name(filename: str) -> str | None:
    """The type ``filename``'s extension says, None for an extension the tables do not know."""
    return _TYPE_OF.get(extension(filename))


def safe_name(filename: str, content_type: str) -> str:
    """The name a file of ``content_type`` sent as ``filename`` is stored under: NFC, no folders,
    letters, digits, marks and ``._-`` only (others become ``-``, runs collapsed), trimmed of
    ``-._``, the stem at most MAX_STEM characters (``file`` when nothing is left), ending in
    one of the type's extensions (the type's own appended otherwise)."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _collapsed("".join(char if _kept(char) else "-" for char in name))
    stem, dot, tail = cleaned.strip(_TRIMMED).rpartition(".")
    allowed = EXTENSIONS.get(content_type, ())
    ending = f".{tail.lower()}"
    if not (dot and ending in allowed):
        stem = cleaned.strip(_TRIMMED)
        ending = allowed[0] if allowed else UNKNOWN_EXTENSION
    stem = stem.strip(_TRIMMED)[:MAX_STEM].rstrip(_TRIMMED) or "file"
    if stem.upper() in _RESERVED:
        stem = f"{stem}-file"
    return stem + ending


def _kept(char: str) -> bool:
    # Marks too: NFC leaves the vowel signs of Devanagari, Thai and others as marks.
    category = unicodedata.category(char)
    return char in _KEPT or category[0] in "LM" or category == "Nd"


def _collapsed(text: str) -> str:
    """Runs of ``-`` as one."""
    return "-".join(part for part in text.split("-") if part) if "-" in text else text


class UniqueNames:
    """Names made unique within one mail (``log.txt``, ``log-2.txt``), ignoring case: a checkout
    of the branch on macOS or Windows would make ``Log.txt`` and ``log.txt`` one file."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        # The next number to try for each name: n files of one name cost n tries, not n²/2.
        self._next: dict[str, int] = {}

    def take(self, name: str) -> str:
        """``name``, or the first ``stem-N.ext`` (N from 2) that no earlier name took."""
        key = name.casefold()
        candidate = name
        if key in self._taken:
            stem, dot, tail = name.rpartition(".")
            stem, ending = (stem, dot + tail) if dot else (name, "")
            number = self._next.get(key, 2)
            candidate = numbered(stem, ending, number)
            while candidate.casefold() in self._taken:
                number += 1
                candidate = numbered(stem, ending, number)
            self._next[key] = number + 1
        self._taken.add(candidate.casefold())
        return candidate


def numbered(stem: str, ending: str, number: int) -> str:
    """``log-2.txt`` of ``log``, ``.txt`` and 2."""
    return f"{stem}-{number}{ending}"
