"""Mails with files, as the common clients send them and as SES stores them, for the tests of
storing and linking attachments.

`python -m tests.attachment_mails` writes tests/attachments/*.eml from what is here; the files
themselves are made here (a real PNG, a JPEG's and a program's first bytes) so that their content
is known to the tests.
"""

from __future__ import annotations

import base64
import struct
import zlib

from tests.conftest import TESTS
from tests.sesmail import ses_block

FOLDER = TESTS / "attachments"
RECIPIENT = "7@issues.example.com"


def png(width: int = 2, height: int = 1) -> bytes:
    """A real PNG of ``width`` x ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


SCREENSHOT = png(4, 3)
LOGO = png(1, 1)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(64)
BUILD_LOG = b"".join(b"2026-11-23T09:0%d:00Z step %d ok\n" % (n, n) for n in range(8))
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(48)
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script></svg>\n"
)
NOT_A_PNG = b"<html><body>not an image</body></html>\n"
# Larger than the 100KB a test route allows, well within the defaults.
REPORT = b"%PDF-1.7\n" + b"0" * (150 * 1024) + b"\n%%EOF\n"


def _base64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 76] + "\r\n" for i in range(0, len(encoded), 76))


def _headers(subject: str, content_type: str, message_id: str) -> str:
    return (
        ses_block(recipient=RECIPIENT)
        + "From: Alice Moreau <alice@example.com>\r\n"
        + f"To: {RECIPIENT}\r\n"
        + f"Subject: {subject}\r\n"
        + f"Message-ID: <{message_id}@example.com>\r\n"
        + "Date: Mon, 23 Nov 2026 09:13:51 +0000\r\n"
        + "MIME-Version: 1.0\r\n"
        + f"Content-Type: {content_type}\r\n"
    )


def _part(content_type: str, body: str, *, extra: str = "") -> str:
    return f"Content-Type: {content_type}\r\n{extra}\r\n{body}"


def _text(text: str, subtype: str = "plain") -> str:
    return _part(
        f"text/{subtype}; charset=utf-8",
        text.replace("\n", "\r\n"),
        extra="Content-Transfer-Encoding: 8bit\r\n",
    )


def _file(
    content_type: str,
    name: str,
    data: bytes,
    *,
    inline: str | None = None,
    disposition: str = "attachment",
) -> str:
    extra = "Content-Transfer-Encoding: base64\r\n"
    if inline is not None:
        extra += f"Content-ID: <{inline}>\r\n"
        disposition = "inline"
    extra += f'Content-Disposition: {disposition}; filename="{name}"\r\n'
    return _part(f'{content_type}; name="{name}"', _base64(data), extra=extra)


def _multipart(subtype: str, boundary: str, *parts: str) -> tuple[str, str]:
    """A multipart's Content-Type value and body."""
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return f'multipart/{subtype}; boundary="{boundary}"', body


def _nested(subtype: str, boundary: str, *parts: str) -> str:
    content_type, body = _multipart(subtype, boundary, *parts)
    return f"Content-Type: {content_type}\r\n\r\n{body}"


def _mail(subject: str, name: str, top: tuple[str, str]) -> bytes:
    content_type, body = top
    return (_headers(subject, content_type, name) + "\r\n" + body).encode()


def mails() -> dict[str, bytes]:
    """Every fixture's bytes by its file name."""
    apple_html = (
        '<html><body><div>The export dialog cuts the file name:</div><div><img src="cid:'
        'F3A1C2D4-5E6F-4A7B-8C9D-0E1F2A3B4C5D" alt="Screenshot.png"></div>'
        "<div>It started with 4.2.</div></body></html>"
    )
    outlook_html = (
        "<html><body><p>The dashboard shows the wrong total:</p>"
        '<p><img width="4" height="3" src="cid:image001.png@01DB4E5F.2A3B4C50"></p>'
        "<p>Bernd</p></body></html>"
    )
    gmail_html = (
        '<div dir="ltr">Login fails with this:<div><img src="cid:ii_m3x9k2l10" '
        'alt="error.png"><br></div><div>Thanks</div></div>'
    )
    forwarded = (
        "From: Sam Lee <sam@example.com>\r\nTo: alice@example.com\r\n"
        "Subject: Crash on start\r\nDate: Sun, 22 Nov 2026 18:02:00 +0000\r\n"
        "Message-ID: <inner@example.com>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: {}\r\n\r\n{}".format(
            *_multipart(
                "mixed",
                "inner-b",
                _text("It crashes right after the splash screen.\n"),
                _file("image/png", "crash.png", SCREENSHOT),
            )
        )
    )
    return {
        # Apple Mail: the plain alternative says nothing of the image; the HTML places it.
        "apple-inline-screenshot.eml": _mail(
            "Export cuts file names",
            "apple-inline",
            _multipart(
                "alternative",
                "Apple-Mail=_A1",
                _text("The export dialog cuts the file name:\n\nIt started with 4.2.\n"),
                _nested(
                    "related",
                    "Apple-Mail=_A2",
                    _text(apple_html, "html"),
                    _file(
                        "image/png",
                        "Screenshot.png",
                        SCREENSHOT,
                        inline="F3A1C2D4-5E6F-4A7B-8C9D-0E1F2A3B4C5D",
                    ),
                ),
            ),
        ),
        # Outlook: the plain alternative holds "[cid:...]" where the image was.
        "outlook-inline-screenshot.eml": _mail(
            "Wrong total on the dashboard",
            "outlook-inline",
            _multipart(
                "related",
                "_004_outlook",
                _nested(
                    "alternative",
                    "_000_outlook",
                    _text(
                        "The dashboard shows the wrong total:\n\n"
                        "[cid:image001.png@01DB4E5F.2A3B4C50]\n\nBernd\n"
                    ),
                    _text(outlook_html, "html"),
                ),
                _file(
                    "image/png", "image001.png", SCREENSHOT, inline="image001.png@01DB4E5F.2A3B4C50"
                ),
            ),
        ),
        # Gmail, HTML only: the image placed by its cid, a second one attached after the text.
        "gmail-inline-screenshot.eml": _mail(
            "Login fails",
            "gmail-inline",
            _multipart(
                "mixed",
                "000000000000gm1",
                _nested(
                    "related",
                    "000000000000gm2",
                    _text(gmail_html, "html"),
                    _file("image/png", "error.png", SCREENSHOT, inline="ii_m3x9k2l10"),
                ),
                _file("image/jpeg", "photo.jpg", JPEG),
            ),
        ),
        # A log sent as application/octet-stream: its name says text/plain.
        "log-octet-stream.eml": _mail(
            "Build log",
            "log-octet",
            _multipart(
                "mixed",
                "b-log",
                _text("The build log is attached.\n"),
                _file("application/octet-stream", "build.log", BUILD_LOG),
            ),
        ),
        # A program, by its bytes and by its name, and one disguised as a PDF.
        "executable.eml": _mail(
            "Installer",
            "executable",
            _multipart(
                "mixed",
                "b-exe",
                _text("The installer I used.\n"),
                _file("application/octet-stream", "setup.exe", PROGRAM),
                _file("application/pdf", "invoice.pdf", PROGRAM),
            ),
        ),
        # An SVG is script a browser runs: not among the default types.
        "svg.eml": _mail(
            "Icon",
            "svg",
            _multipart(
                "mixed",
                "b-svg",
                _text("The new icon.\n"),
                _file("image/svg+xml", "icon.svg", SVG),
            ),
        ),
        # Declared a PNG, named one, holds HTML.
        "mislabelled-png.eml": _mail(
            "Screenshot",
            "mislabelled",
            _multipart(
                "mixed",
                "b-mis",
                _text("See the screenshot.\n"),
                _file("image/png", "screenshot.png", NOT_A_PNG),
            ),
        ),
        # A 150 KB report beside a small screenshot.
        "oversize.eml": _mail(
            "Monthly report",
            "oversize",
            _multipart(
                "mixed",
                "b-big",
                _text("The report and a screenshot.\n"),
                _file("application/pdf", "report.pdf", REPORT),
                _file("image/png", "chart.png", SCREENSHOT),
            ),
        ),
        # More files than a route stores.
        "many-files.eml": _mail(
            "All the logs",
            "many",
            _multipart(
                "mixed",
                "b-many",
                _text("Every node's log.\n"),
                *(
                    _file("text/plain", f"node-{n:02d}.log", b"node %d ok\n" % n)
                    for n in range(1, 26)
                ),
            ),
        ),
        # A mail forwarded as an attachment, with a screenshot of its own.
        "forwarded-eml.eml": _mail(
            "Fwd: Crash on start",
            "forwarded",
            _multipart(
                "mixed",
                "b-fwd",
                _text("Forwarding Sam's report.\n"),
                _part(
                    "message/rfc822",
                    forwarded,
                    extra='Content-Disposition: attachment; filename="Crash on start.eml"\r\n',
                ),
            ),
        ),
    }


def write_mails() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, raw in mails().items():
        (FOLDER / name).write_bytes(raw)
    # Outlook's winmail.dat (tests.tnef), as SES stores it: its files have no part of their own.
    winmail = (TESTS / "protocol" / "outlook-winmail.eml").read_bytes()
    (FOLDER / "outlook-winmail.eml").write_bytes(ses_block(recipient=RECIPIENT).encode() + winmail)


if __name__ == "__main__":
    write_mails()
