"""TNEF streams (MS-OXTNEF) built as Outlook writes them, for the winmail.dat test mails.

`python -m tests.tnef` writes tests/protocol/outlook-winmail*.eml from these bytes; the tests
check that the mails still hold exactly them.
"""

from __future__ import annotations

import base64
import struct
import textwrap

from compressed_rtf import compress  # type: ignore[import-untyped]

from tests.conftest import TESTS

SIGNATURE = 0x223E9F78
MESSAGE, ATTACHMENT = 0x01, 0x02
# Attribute ids and types (MS-OXTNEF 2.1.3.1), MAPI property tags (MS-OXPROPS).
ATT_TNEF_VERSION, ATT_OEM_CODEPAGE, ATT_MESSAGE_CLASS = 0x9006, 0x9007, 0x8008
ATT_MAPI_PROPS, ATT_ATTACH_REND_DATA, ATT_ATTACH_TITLE = 0x9003, 0x9002, 0x8010
ATT_ATTACH_DATA, ATT_ATTACHMENT = 0x800F, 0x9005
ATP_STRING, ATP_BYTE, ATP_WORD, ATP_DWORD = 0x0001, 0x0006, 0x0007, 0x0008
PT_STRING8, PT_BINARY = 0x001E, 0x0102
PR_RTF_COMPRESSED, PR_ATTACH_FILENAME, PR_ATTACH_LONG_FILENAME = 0x1009, 0x3704, 0x3707

RTF = (
    b"{\\rtf1\\ansi\\ansicpg1252\\deff0\\nouicompat\\deflang1031{\\fonttbl{\\f0\\fswiss"
    b"\\fcharset0 Calibri;}}\r\n{\\*\\generator Riched20 10.0.19041}\\viewkind4\\uc1 \r\n"
    b"\\pard\\sa200\\sl276\\slmult1\\f0\\fs22\\lang7 Hello,\\par\r\n"
    b"sensor 3 reports again since 08:50; the readings of the night and the "
    b"St\\'f6rungsbericht are attached.\\par\r\nBernd\\par\r\n}\r\n\x00"
)
READINGS = b"time,value\n2026-11-23T00:00Z,21.4\n2026-11-23T01:00Z,21.1\n"
REPORT = b"%PDF-1.4\n% report\n%%EOF\n"


def attribute(level: int, kind: int, name: int, data: bytes) -> bytes:
    """One TNEF attribute: level, id (name, then type), length, data, checksum."""
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def mapi(*properties: bytes) -> bytes:
    return struct.pack("<I", len(properties)) + b"".join(properties)


def mapi_value(kind: int, tag: int, data: bytes) -> bytes:
    """A PT_STRING8 or PT_BINARY property: one value, its length, padded to 4 bytes."""
    return struct.pack("<HHII", kind, tag, 1, len(data)) + data + b"\x00" * (-len(data) % 4)


def attachment(short: str, long: str, data: bytes) -> bytes:
    return b"".join(
        [
            attribute(
                ATTACHMENT, ATP_BYTE, ATT_ATTACH_REND_DATA, struct.pack("<HIIHI", 1, 0, 0, 1, 0)
            ),
            attribute(ATTACHMENT, ATP_STRING, ATT_ATTACH_TITLE, short.encode("cp1252") + b"\x00"),
            attribute(ATTACHMENT, ATP_BYTE, ATT_ATTACH_DATA, data),
            attribute(
                ATTACHMENT,
                ATP_BYTE,
                ATT_ATTACHMENT,
                mapi(
                    mapi_value(PT_STRING8, PR_ATTACH_FILENAME, short.encode("cp1252") + b"\x00"),
                    mapi_value(
                        PT_STRING8, PR_ATTACH_LONG_FILENAME, long.encode("cp1252") + b"\x00"
                    ),
                ),
            ),
        ]
    )


def winmail() -> bytes:
    """A rich-text Outlook mail as TNEF: its body only as compressed RTF, two files."""
    return b"".join(
        [
            struct.pack("<IH", SIGNATURE, 0x4C2A),
            attribute(MESSAGE, ATP_DWORD, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000)),
            attribute(MESSAGE, ATP_BYTE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0)),
            attribute(MESSAGE, ATP_WORD, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\x00"),
            attribute(
                MESSAGE,
                ATP_BYTE,
                ATT_MAPI_PROPS,
                mapi(mapi_value(PT_BINARY, PR_RTF_COMPRESSED, compress(RTF, compressed=True))),
            ),
            attachment("SENSOR~1.CSV", "sensor3-readings.csv", READINGS),
            attachment("STRUNG~1.PDF", "Störungsbericht.pdf", REPORT),
        ]
    )


def _base64(data: bytes) -> str:
    return "\r\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


_HEADER = (
    "From: =?iso-8859-1?Q?Bernd_M=FCller?= <bernd.mueller@example.com>\r\n"
    'To: "7@issues.example.com" <7@issues.example.com>\r\n'
    "Subject: RE: Sensor 3 offline\r\n"
    "Thread-Topic: Sensor 3 offline\r\n"
    "Thread-Index: AdtdlA7tq3m1t0bXQ1y8f5Jk0u2c3w==\r\n"
    "Date: Mon, 23 Nov 2026 09:02:00 +0000\r\n"
    "Message-ID: <{id}@exchange.example.com>\r\n"
    "Accept-Language: de-DE, en-US\r\n"
    "Content-Language: de-DE\r\n"
    "X-MS-Has-Attach: yes\r\n"
    "X-MS-TNEF-Correlator: <{id}@exchange.example.com>\r\n"
    "MIME-Version: 1.0\r\n"
)


def write_mails() -> None:
    folder = TESTS / "protocol"
    boundary = "_002_DB9PR07MB71541C2D3E4F5A6B7C8D9E0F1A2B3C4DDB9PR07MB7154eurp_"
    mixed = (
        _HEADER.format(id="DB9PR07MB71541C2D3E4F5A6B7C8D9E0F1A2B3C4D")
        + f'Content-Type: multipart/mixed;\r\n\tboundary="{boundary}"\r\n\r\n'
        + f"--{boundary}\r\n"
        + 'Content-Type: text/plain; charset="iso-8859-1"\r\n'
        + "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + "Hello,\r\nsensor 3 reports again since 08:50; the readings of the night and the St=\r\n"
        + "=F6rungsbericht are attached.\r\nBernd\r\n\r\n"
        + f"--{boundary}\r\n"
        + 'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
        + 'Content-Disposition: attachment; filename="winmail.dat"\r\n'
        + "Content-Transfer-Encoding: base64\r\n\r\n"
        + _base64(winmail())
        + f"\r\n\r\n--{boundary}--\r\n"
    )
    (folder / "outlook-winmail.eml").write_bytes(mixed.encode("ascii"))
    alone = (
        _HEADER.format(id="DB9PR07MB71549A8B7C6D5E4F3A2B1C0D9E8F7A6BDB9PR07MB7154")
        + 'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
        + 'Content-Disposition: attachment; filename="winmail.dat"\r\n'
        + "Content-Transfer-Encoding: base64\r\n\r\n"
        + _base64(winmail())
        + "\r\n"
    )
    (folder / "outlook-winmail-only.eml").write_bytes(alone.encode("ascii"))


if __name__ == "__main__":
    write_mails()
