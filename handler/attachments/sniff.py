"""What a file's first bytes say it is: the magic numbers of the types stored, and of programs.
Pure."""

from __future__ import annotations

# Leading bytes of the types whose content can be told; (type, magic, offset) with RIFF's
# WEBP read at offset 8 (https://mimesniff.spec.whatwg.org/#matching-an-image-type-pattern).
_MAGIC: tuple[tuple[str, bytes, int], ...] = (
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/gif", b"GIF87a", 0),
    ("image/gif", b"GIF89a", 0),
    ("image/webp", b"WEBP", 8),
    ("application/pdf", b"%PDF-", 0),
    # A zip starts with a file's local header, or is empty (its end record) or spanned.
    ("application/zip", b"PK\x03\x04", 0),
    ("application/zip", b"PK\x05\x06", 0),
    ("application/zip", b"PK\x07\x08", 0),
    ("application/gzip", b"\x1f\x8b", 0),
)
_NAMES = {
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "application/pdf": "a PDF document",
    "application/zip": "a zip archive",
    "application/gzip": "a gzip file",
}
# The types whose every file starts with its magic.
MAGIC_TYPES = frozenset(_NAMES)
# Raster images: shown inline in a comment when the content says so. SVG is no raster image:
# a browser runs the scripts it holds.
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Text has no NUL byte in its first 8 KB: git tells binary files from text so (it reads 8,000).
_TEXT_PROBE = 8192
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TEXT_APPLICATIONS = frozenset({"application/json", "application/xml", "application/x-ndjson"})
# Programs by their first bytes: what an operating system or a virtual machine runs.
_PROGRAMS: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows or DOS program"),
    (b"\x7fELF", "a Linux or Unix program (ELF)"),
    (b"\xfe\xed\xfa\xce", "a macOS program (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "a macOS program (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "a macOS program (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "a macOS program (Mach-O)"),
    # Both a Java class and a universal (fat) Mach-O binary start so.
    (b"\xca\xfe\xba\xbe", "a Java class or macOS program"),
    (b"\xca\xfe\xba\xbf", "a macOS program (Mach-O)"),
    (b"#!", "a script (#!)"),
    (b"\x00asm", "a WebAssembly module"),
    (b"dex\n", "an Android program (DEX)"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "a Windows shortcut"),
)


def sniffed_type(content: bytes) -> str | None:
    """The type ``content``'s magic says (one of MAGIC_TYPES), None when it says none."""
    for content_type, magic, offset in _MAGIC:
        if content.startswith(magic, offset) and (
            content_type != "image/webp" or content.startswith(b"RIFF")
        ):
            return content_type
    return None


def described(content_type: str) -> str:
    """``a PNG image`` for image/png: how a detail names a sniffed type."""
    return _NAMES.get(content_type, content_type)


def program(content: bytes) -> str | None:
    """What program ``content`` is by its first bytes (for people), None when none."""
    return next((what for magic, what in _PROGRAMS if content.startswith(magic)), None)


def is_text_type(content_type: str) -> bool:
    """Whether files of ``content_type`` are text."""
    return (
        content_type.startswith("text/")
        or content_type in _TEXT_APPLICATIONS
        or content_type.endswith(("+json", "+xml"))
    )


def contradicts(content_type: str, content: bytes) -> bool:
    """Whether ``content`` is plainly not ``content_type``: a type with a magic that the
    content lacks, or text with a NUL byte. Types that cannot be told are taken as declared."""
    if content_type in MAGIC_TYPES:
        return sniffed_type(content) != content_type
    if is_text_type(content_type):
        # UTF-16 with its byte-order mark is text full of NULs: Windows PowerShell writes logs so.
        if content.startswith(_UTF16_BOMS):
            return False
        return b"\x00" in content[:_TEXT_PROBE]
    return False
