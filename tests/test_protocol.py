"""Protocol parts (handler.inbound.protocol): calendar invitations summarised and listed once,
signatures noted and not listed, encrypted mail refused, winmail.dat decoded, mails forwarded as
parts kept as Forwarded. The mails in tests/protocol/ are written as each client writes them."""

from __future__ import annotations

import base64
import struct

import pytest

from handler.inbound.attachments import Attachment
from handler.inbound.headers import Address
from handler.inbound.mail import Message, parse_mail
from handler.inbound.plan import plan
from handler.inbound.protocol import (
    CalendarEvent,
    Forwarded,
    calendar_events,
    tnef_contents,
    without_pgp_signature,
)
from tests import tnef
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import SES_ROUTES, TESTS
from tests.sesmail import ses_block

MAILS = TESTS / "protocol"
ANNA = Address("Anna Schmidt", "anna", "example.com")
BERND = Address("Bernd Müller", "bernd.mueller", "example.com")


def mail(name: str) -> Message:
    return parse_mail((MAILS / name).read_bytes())


def test_google_calendar_invite_is_one_event_and_one_ics():
    """Gmail's alternative text/calendar and its invite.ics are one event and one listed file."""
    message = mail("google-calendar-invite.eml")
    assert message.events == (
        CalendarEvent(
            method="REQUEST",
            summary="Sensor 3 post-mortem",
            start="2026-11-24 13:00 UTC",
            end="2026-11-24 14:00 UTC",
            location="Room 2.14, Building B",
            organizer=ANNA,
        ),
    )
    assert message.attachments == (Attachment("invite.ics", "application/ics", 1278),)
    assert message.text is not None
    assert message.text.startswith("Anna Schmidt has invited you to a meeting\n\n")
    assert message.defects == ()


def test_outlook_meeting_request_lists_its_calendar_as_invite_ics():
    """Exchange's nameless text/calendar alternative is the event, listed once as invite.ics."""
    message = mail("outlook-meeting-request.eml")
    assert message.events == (
        CalendarEvent(
            method="REQUEST",
            summary="Firmware rollout",
            start="2026-11-25 10:00 (W. Europe Standard Time)",
            end="2026-11-25 11:00 (W. Europe Standard Time)",
            location="Microsoft Teams Meeting",
            organizer=BERND,
        ),
    )
    assert message.attachments == (Attachment("invite.ics", "text/calendar", 1605),)
    assert message.text is not None
    assert message.text.startswith("Let us agree on the firmware rollout.\n")


def test_cancellation_keeps_its_method_and_summary_as_written():
    """A CANCEL is an event with method CANCEL; Outlook's "Abgesagt:" summary is not rewritten."""
    message = mail("outlook-meeting-cancel.eml")
    assert [(e.method, e.summary) for e in message.events] == [
        ("CANCEL", "Abgesagt: Firmware rollout")
    ]
    assert message.attachments == (Attachment("invite.ics", "text/calendar", 1614),)


def test_itip_reply_with_an_all_day_event():
    """A REPLY (Google's "Accepted:") of an all-day event: dates without times, no location."""
    message = mail("itip-reply-accepted.eml")
    assert message.events == (
        CalendarEvent("REPLY", "Maintenance day", "2026-12-01", "2026-12-02", "", BERND),
    )
    assert message.attachments == (Attachment("invite.ics", "application/ics", 610),)


@pytest.mark.parametrize(
    ("lines", "start", "end"),
    [
        (
            ["DTSTART;TZID=Europe/Berlin:20250120T140000", "DURATION:PT90M"],
            "2025-01-20 14:00 (Europe/Berlin)",
            "2025-01-20 15:30 (Europe/Berlin)",
        ),
        (["DTSTART:20250120T140000"], "2025-01-20 14:00", ""),
        ([], "", ""),
    ],
)
def test_event_times_as_shown(lines: list[str], start: str, end: str):
    """A zone named as the sender named it; floating time bare; DURATION gives the end."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:1", "SUMMARY:Call"]
    ics = "\r\n".join([*head, *lines, "END:VEVENT", "END:VCALENDAR", ""]).encode()
    assert calendar_events(ics) == (CalendarEvent("", "Call", start, end, "", None),)


def test_broken_calendar_is_listed_with_a_defect():
    """A calendar icalendar cannot read gives no event, the file listed once, and a defect."""
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=b\r\n"
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee the invite.\r\n"
        b"--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nBEGIN:VEVENT"
        b"\r\nDTSTART:2025-13-45\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n--b--\r\n"
    )
    message = parse_mail(raw)
    assert (message.events, message.defects) == ((), ("unreadable-calendar",))
    assert message.attachments == (Attachment("invite.ics", "text/calendar", 76),)


def test_events_per_mail_are_bounded():
    """Thousands of VEVENTs are summarised up to MAX_EVENTS."""
    event = "BEGIN:VEVENT\r\nUID:{n}\r\nSUMMARY:E{n}\r\nEND:VEVENT\r\n"
    ics = (
        "BEGIN:VCALENDAR\r\n"
        + "".join(event.format(n=n) for n in range(5000))
        + "END:VCALENDAR\r\n"
    )
    events = calendar_events(ics.encode())
    assert events is not None
    assert [e.summary for e in events] == [f"E{n}" for n in range(20)]


def test_calendar_parsing_is_linear():
    """A calendar of many events (up to the size read) costs time linear in its size."""
    event = (
        "BEGIN:VEVENT\r\nUID:{n}\r\nSUMMARY:Event {n}\r\nDTSTART:20250120T140000Z\r\nEND:VEVENT\r\n"
    )

    def work(size: int) -> object:
        body = "".join(event.format(n=n) for n in range(size))
        return calendar_events(f"BEGIN:VCALENDAR\r\n{body}END:VCALENDAR\r\n".encode())

    assert growth(work, 200) < MAX_GROWTH


def test_pgp_mime_signed_mail_notes_pgp_and_lists_no_signature():
    """Thunderbird's multipart/signed: its text and its file, "PGP", no OpenPGP_signature.asc."""
    message = mail("thunderbird-pgp-signed.eml")
    assert message.text == (
        "The sensor is back since 08:50; the log of the restart is attached.\n\nCarla\n"
    )
    assert message.attachments == (Attachment("restart.log", "text/plain", 20),)
    assert (message.signatures, message.encryption) == (("PGP",), None)


def test_smime_signed_mail_notes_smime_and_lists_no_p7s():
    """Apple Mail's S/MIME signature: "S/MIME", no smime.p7s among the files."""
    message = mail("apple-smime-signed.eml")
    assert message.text == "Confirmed from our side too: the sensor reports again.\n\nDana\n"
    assert (message.attachments, message.signatures) == ((), ("S/MIME",))


def test_inline_pgp_signature_armour_is_removed():
    """Mutt's inline signature: armour and signature gone, dash-escaping undone, "PGP" noted."""
    message = mail("inline-pgp-signed.eml")
    assert message.text == "The firmware on sensor 3 is 4.2.1; the fix needs 4.3.\n-- \nErik\n"
    assert message.signatures == ("PGP",)


def test_quoted_inline_signature_is_left_alone():
    """Armour inside a quote is the quoted mail's, not this one's."""
    text = "Thanks.\n\n> -----BEGIN PGP SIGNED MESSAGE-----\n> Hash: SHA256\n"
    assert without_pgp_signature(text) == (text, False)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("thunderbird-pgp-encrypted.eml", "PGP"),
        ("outlook-smime-encrypted.eml", "S/MIME"),
        ("inline-pgp-encrypted.eml", "PGP"),
    ],
)
def test_encrypted_mail_is_detected_and_lists_no_control_part(name: str, kind: str):
    """PGP/MIME, S/MIME enveloped data and inline PGP: the encryption named, nothing listed."""
    message = mail(name)
    assert (message.encryption, message.attachments) == (kind, ())


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("thunderbird-pgp-encrypted.eml", "PGP"),
        ("outlook-smime-encrypted.eml", "S/MIME"),
        ("inline-pgp-encrypted.eml", "PGP"),
    ],
)
def test_encrypted_mail_is_refused_with_its_own_reason(name: str, kind: str):
    """An encrypted mail from an allowed, authenticated sender is refused as encrypted-mail."""
    raw = ses_block(envelope_from="carla@example.com").encode() + (MAILS / name).read_bytes()
    [decision] = plan(raw, SES_ROUTES).decisions
    assert (decision.action, decision.reason, decision.repo, decision.issue) == (
        "reject",
        "encrypted-mail",
        "example-org/app",
        7,
    )
    assert decision.detail == f"the mail is encrypted ({kind}); ticket-router cannot read it"


def test_opaque_smime_signed_data_is_listed_and_said():
    """smime-type=signed-data hides the text in the signature: "S/MIME", listed, a defect."""
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n"
    )
    message = parse_mail(raw)
    assert message.signatures == ("S/MIME",)
    assert message.attachments == (Attachment("smime.p7m", "application/pkcs7-mime", 21),)
    assert message.defects == ("smime-opaque-signed",)


def test_winmail_dat_is_replaced_by_its_files():
    """Outlook's winmail.dat beside a text part: its two files listed, the MIME text kept."""
    message = mail("outlook-winmail.eml")
    assert message.text == (
        "Hello,\nsensor 3 reports again since 08:50; the readings of the night and the "
        "Störungsbericht are attached.\nBernd\n"
    )
    assert message.attachments == (
        Attachment("sensor3-readings.csv", "text/csv", 57),
        Attachment("Störungsbericht.pdf", "application/pdf", 24),
    )
    assert message.defects == ()


def test_winmail_dat_alone_gives_its_rtf_body():
    """A mail that is only a winmail.dat: its compressed RTF body read as the text."""
    message = mail("outlook-winmail-only.eml")
    assert message.text == (
        "Hello,\nsensor 3 reports again since 08:50; the readings of the night and the "
        "Störungsbericht are attached.\nBernd"
    )
    assert [a.filename for a in message.attachments] == [
        "sensor3-readings.csv",
        "Störungsbericht.pdf",
    ]


@pytest.mark.parametrize("name", ["outlook-winmail.eml", "outlook-winmail-only.eml"])
def test_the_winmail_mails_hold_the_built_tnef(name: str):
    """The test mails carry exactly what tests/tnef.py builds (it wrote them)."""
    raw = (MAILS / name).read_bytes()
    encoded = raw.split(b'winmail.dat"\r\n', 2)[-1].split(b"\r\n\r\n", 1)[1].split(b"\r\n--")[0]
    assert base64.b64decode(encoded) == tnef.winmail()


def test_broken_tnef_is_listed_as_sent_with_a_defect():
    """A winmail.dat that does not decode stays listed as winmail.dat, with a defect."""
    data = tnef.winmail()[:40]
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n--b\r\n"
        b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(data) + b"\r\n--b--\r\n"
    )
    message = parse_mail(raw)
    assert message.attachments == (Attachment("winmail.dat", "application/ms-tnef", 40),)
    assert message.defects == ("unreadable-tnef",)


@pytest.mark.parametrize(
    "stream",
    [
        # A property list claiming four billion properties in a few bytes.
        struct.pack("<IH", tnef.SIGNATURE, 0)
        + tnef.attribute(tnef.MESSAGE, tnef.ATP_BYTE, tnef.ATT_MAPI_PROPS, b"\xff\xff\xff\xff" * 4),
        # A multi-valued short property claiming four billion values.
        struct.pack("<IH", tnef.SIGNATURE, 0)
        + tnef.attribute(
            tnef.MESSAGE,
            tnef.ATP_BYTE,
            tnef.ATT_MAPI_PROPS,
            struct.pack("<IHHI", 1, 0x1002, 0x0001, 0xFFFFFFFF) + b"\x00" * 8,
        ),
    ],
)
def test_tnef_counts_it_cannot_hold_are_not_decoded(stream: bytes):
    """tnefparse would loop for each count; such a stream is refused before it runs."""
    assert tnef_contents(stream) is None


def test_tnef_decoding_is_linear():
    """Many attachments (each copied by tnefparse) cost time linear in the stream's size."""

    def work(size: int) -> object:
        files = b"".join(tnef.attachment("A.TXT", f"a{n}.txt", b"x" * 10) for n in range(size))
        return tnef_contents(tnef.winmail() + files)

    assert growth(work, 100) < MAX_GROWTH


def test_forwarded_mail_as_attachment_is_kept_with_its_files():
    """Thunderbird's "Forward as Attachment": a Forwarded entry (decoded sender and subject,
    its plain text); its log listed; the .eml itself not listed."""
    message = mail("thunderbird-forward-as-attachment.eml")
    assert message.text == "The customer's original report, with the station's log.\n"
    assert message.forwarded == (
        Forwarded(
            sender=Address("Jürgen Ops", "ops", "customer.example.org"),
            date="Mon, 16 Nov 2026 04:02:11 +0100",
            subject="Sensor 3 offline \u2013 station Nördlingen",
            text="Hello,\n\nsensor 3 at Nördlingen stopped reporting at 03:12. The log is "
            "attached.\n\nJürgen\n",
        ),
    )
    assert message.attachments == (Attachment("station.log", "text/plain", 101),)


def test_forwarded_html_only_mail_is_read_as_markdown():
    """A forwarded mail with only HTML gives its text as Markdown."""
    raw = (
        b"From: a@example.com\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--b\r\nContent-Type: message/rfc822"
        b"\r\n\r\nFrom: c@example.org\r\nSubject: Down\r\nContent-Type: text/html\r\n\r\n"
        b"<p>It is <b>down</b>.</p>\r\n--b--\r\n"
    )
    [forwarded] = parse_mail(raw).forwarded
    assert forwarded.text == "It is **down**."


def test_forwarded_parts_are_bounded_and_the_rest_listed():
    """Past MAX_FORWARDED, forwarded parts are listed as files, as any other attachment."""
    inner = b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: S{n}\r\n\r\nText {n}\r\n"
    parts = b"".join(inner.replace(b"{n}", str(n).encode()) for n in range(12))
    raw = b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    message = parse_mail(raw + parts + b"--b--\r\n")
    assert [f.subject for f in message.forwarded] == [f"S{n}" for n in range(10)]
    assert [a.filename for a in message.attachments] == ["S10.eml", "S11.eml"]


def test_a_returned_mail_in_a_delivery_report_stays_an_attachment():
    """message/rfc822 inside multipart/report is the bounced mail, not a forward."""
    raw = (
        b"From: MAILER-DAEMON@example.com\r\nContent-Type: multipart/report; "
        b"report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"Undeliverable.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: Hi\r\n\r\nHi\r\n"
        b"--b--\r\n"
    )
    message = parse_mail(raw)
    assert message.forwarded == ()
    assert message.attachments == (Attachment("Hi.eml", "message/rfc822", 15),)
