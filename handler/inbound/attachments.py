"""The files a mail carries: which parts are files rather than its text, and each one's name,
type, size and part. The content itself is never kept; a mail whose files are stored has it read
out again (handler.inbound.mail.attachment_contents).

Pure: no I/O. A base64 body cut out before parsing (handler.inbound.mime_slim) is measured by
the decoded length written in its part."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message as EmailMessage

from handler.inbound.charsets import decode_header_value
from handler.inbound.headers import parameter
from handler.inbound.mime_slim import SIZE_FIELD

# File name extensions for nameless attachments; a fixed table rather than the mimetypes
# module, whose answers depend on the host's /etc/mime.types.
_EXTENSIONS = {
    "application/gzip": ".gz",
    "application/json": ".json",
    "application/ms-tnef": ".dat",
    "application/msword": ".doc",
    "application/pdf": ".pdf",
    "application/pgp-encrypted": ".asc",
    "application/pgp-keys": ".asc",
    "application/pgp-signature": ".asc",
    "application/pkcs7-mime": ".p7m",
    "application/pkcs7-signature": ".p7s",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/x-pkcs7-mime": ".p7m",
    "application/x-pkcs7-signature": ".p7s",
    "application/xml": ".xml",
    "application/zip": ".zip",
    "audio/mpeg": ".mp3",
    "image/bmp": ".bmp",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "message/rfc822": ".eml",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/html": ".html",
    "text/vcard": ".vcf",
    "text/x-diff": ".diff",
    "text/x-patch": ".patch",
    "text/x-vcard": ".vcf",
    "video/mp4": ".mp4",
}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    # The part's Content-ID without its angle brackets ("" if none): what an HTML body's
    # "cid:" references name.
    content_id: str = ""
    # The ordinal of the file's MIME part in a depth-first walk of the mail (``parts_in_order``),
    # where its content is found again; -1 for a file without a part of its own (one inside a
    # winmail.dat). Not compared: the same file sent in two alternatives is one file.
    part: int = field(default=-1, compare=False)


def is_attachment(part: EmailMessage) -> bool:
    """Whether a leaf part (of the stdlib's parse) is listed as a file rather than read as the
    mail's text."""
    return not (
        part.get_content_type() in {"text/plain", "text/html"}
        and not part.get_filename()
        and part.get_content_disposition() != "attachment"
    )


def attachment(part: EmailMessage, content_type: str, *, ordinal: int = -1) -> Attachment:
    """``part`` as a file: its name as sent (a forwarded mail: its subject), "" when it has
    none (see ``nameless``), its decoded size (a mail part: its size as bytes) and ``ordinal``,
    its place in ``parts_in_order``."""
    filename = _basename(_filename(part))
    if part.get_content_maintype() == "message":
        inner = [p for p in part.get_payload() if isinstance(p, EmailMessage)]
        size = sum(len(p.as_bytes()) for p in inner)
        if not filename and content_type in {"message/rfc822", "message/global"} and inner:
            subject = decode_header_value(_raw_field(inner[0], "subject") or "")
            filename = f"{_basename(subject) or 'forwarded message'}.eml"
    elif (cut := part.get(SIZE_FIELD)) is not None:
        size = int(cut)
    else:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
    content_id = str(part.get("Content-ID") or "").strip().strip("<>").strip()
    return Attachment(filename, content_type, size, content_id, ordinal)


def parts_in_order(root: EmailMessage) -> list[EmailMessage]:
    """Every part of ``root``, itself first, in the order of ``EmailMessage.walk()``; without
    recursion, since a hostile mail nests deeper than Python's stack."""
    order: list[EmailMessage] = []
    pending = [root]
    while pending:
        part = pending.pop()
        order.append(part)
        if part.is_multipart():
            children = [c for c in part.get_payload() if isinstance(c, EmailMessage)]
            pending += reversed(children)
    return order


def content(part: EmailMessage) -> bytes | None:
    """The decoded content of a file's part (a mail part: the mail's bytes, as its size counts
    them); None when it has none to read."""
    if part.get_content_maintype() == "message":
        return b"".join(p.as_bytes() for p in part.get_payload() if isinstance(p, EmailMessage))
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else None


def nameless(number: int, content_type: str) -> str:
    """The file name of the mail's ``number``-th attachment without one (counted from 1)."""
    fallback = ".txt" if content_type.partition("/")[0] in {"text", "message"} else ".bin"
    return f"attachment-{number}{_EXTENSIONS.get(content_type, fallback)}"


def _filename(part: EmailMessage) -> str:
    """The part's file name: Content-Disposition's filename, else Content-Type's name.

    Read from the raw fields: the stdlib's get_filename() turns 8-bit bytes into U+FFFD
    ("ci\ufffd\ufffdle.txt") and RFC 2231 bytes the charset cannot read into escapes.
    """
    for header, name in (("content-disposition", "filename"), ("content-type", "name")):
        value = _raw_field(part, header)
        found = parameter(value, name) if value is not None else None
        if found:
            return found
    return ""


def _raw_field(part: EmailMessage, name: str) -> str | None:
    """The first field ``name`` (lowercase) of ``part`` as parsed, 8-bit bytes as surrogates."""
    return next((str(v) for k, v in part.raw_items() if k.lower() == name), None)


def _basename(name: str) -> str:
    """A file name as sent, without the sender's folders ("C:\\Users\\me\\log.txt")."""
    return re.split(r"[\\/]", name)[-1].strip()


class InlineImages:
    """The file names of a mail's inline images, found by the Content-ID a body names them by
    (HTML's "cid:" URLs, Outlook's "[cid:...]" in text): case-insensitively, else by the part
    before "@", since clients quote Content-IDs in either form."""

    def __init__(self, names: Mapping[str, str]) -> None:
        """``names``: each inline image's file name by its Content-ID."""
        self._exact: dict[str, str] = {}
        self._local: dict[str, str] = {}
        for content_id, name in names.items():
            key = _content_id_key(content_id)
            self._exact.setdefault(key, name)
            self._local.setdefault(key.split("@", 1)[0], name)

    def name(self, content_id: str) -> str:
        """The file name of the image ``content_id`` names; "" when none does."""
        key = _content_id_key(content_id)
        name = self._exact.get(key) or self._local.get(key.split("@", 1)[0]) or ""
        return " ".join(name.split())


def _content_id_key(content_id: str) -> str:
    return content_id.strip().strip("<>").lower()
