"""A file's MIME part and its content read out again: ordinals in the walk's order, the same in
the slim parse and the full one, content as decoded, nothing for a file without a part."""

from __future__ import annotations

from email.message import Message as EmailMessage
from pathlib import Path

import pytest

from handler.inbound.attachments import Attachment, parts_in_order
from handler.inbound.mail import _parsed, attachment_contents, parse_mail
from tests import attachment_mails
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import ROOT, TESTS, stored_mails

FIXTURES = sorted((TESTS / "attachments").glob("*.eml"))


def test_fixtures_are_what_the_generator_writes():
    """tests/attachments holds exactly the mails tests.attachment_mails makes."""
    made = attachment_mails.mails()
    assert {p.name for p in FIXTURES} == {*made, "outlook-winmail.eml"}
    for name, raw in made.items():
        assert (TESTS / "attachments" / name).read_bytes() == raw


@pytest.mark.parametrize("path", stored_mails(), ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_every_stored_mail_reads_each_file_back_at_its_measured_size(path: Path):
    """Slim and full parses give each file the same part, and its content has the size listed."""
    raw = path.read_bytes()
    files = parse_mail(raw).attachments
    assert [a.part for a in files] == [a.part for a in parse_mail(raw, min_cut=None).attachments]
    contents = attachment_contents(raw, files)
    assert {i: len(c) for i, c in contents.items()} == {
        i: a.size for i, a in enumerate(files) if a.part >= 0
    }


def test_part_is_the_ordinal_of_the_stdlib_walk():
    """Each file's part is its position in EmailMessage.walk() of the mail's parse."""
    raw = (TESTS / "attachments" / "gmail-inline-screenshot.eml").read_bytes()
    walked = list(_parsed(raw).walk())
    assert [p.get_content_type() for p in walked] == [
        "multipart/mixed",
        "multipart/related",
        "text/html",
        "image/png",
        "image/jpeg",
    ]
    assert [a.part for a in parse_mail(raw).attachments] == [3, 4]
    assert len(parts_in_order(_parsed(raw))) == len(walked)


def test_contents_are_the_decoded_files():
    """Each content is the file the sender attached, byte for byte."""
    raw = (TESTS / "attachments" / "gmail-inline-screenshot.eml").read_bytes()
    files = parse_mail(raw).attachments
    assert attachment_contents(raw, files) == {
        0: attachment_mails.SCREENSHOT,
        1: attachment_mails.JPEG,
    }


def test_a_forwarded_mails_file_is_read_from_inside_it():
    """A screenshot inside a mail forwarded as an attachment is found at its nested part."""
    raw = (TESTS / "attachments" / "forwarded-eml.eml").read_bytes()
    message = parse_mail(raw)
    assert [a.filename for a in message.attachments] == ["crash.png"]
    assert attachment_contents(raw, message.attachments) == {0: attachment_mails.SCREENSHOT}


def test_a_mail_part_listed_as_a_file_is_the_inner_mails_bytes():
    """A returned mail in a delivery report is a file whose content is that mail's bytes."""
    returned = b"From: a@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"
    raw = (
        b"From: MAILER-DAEMON@example.com\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n"
        b"--r\r\nContent-Type: message/rfc822\r\n\r\n" + returned + b"--r--\r\n"
    )
    files = parse_mail(raw).attachments
    assert [(a.content_type, a.part) for a in files] == [("message/rfc822", 2)]
    inner = _parsed(raw).get_payload()[1].get_payload()[0]
    assert isinstance(inner, EmailMessage)
    assert attachment_contents(raw, files) == {0: inner.as_bytes()}
    assert len(inner.as_bytes()) == files[0].size


def test_files_inside_a_winmail_dat_have_no_part_and_no_content():
    """Outlook's winmail.dat files are listed with part -1 and are not read out."""
    raw = (TESTS / "attachments" / "outlook-winmail.eml").read_bytes()
    files = parse_mail(raw).attachments
    assert files
    assert all(a.part == -1 for a in files)
    assert attachment_contents(raw, files) == {}


def test_a_part_of_another_type_is_not_taken_for_the_file():
    """A file whose ordinal names a part of another type (not this mail's tree) is not read."""
    raw = (TESTS / "attachments" / "svg.eml").read_bytes()
    wrong = (
        Attachment("icon.svg", "image/png", 109, part=2),
        Attachment("x", "text/plain", 1, part=99),
    )
    assert attachment_contents(raw, wrong) == {}


def test_the_part_is_not_part_of_a_files_identity():
    """Two equal files in two alternatives are one file, wherever each sits."""
    assert Attachment("a.png", "image/png", 3, part=4) == Attachment(
        "a.png", "image/png", 3, part=7
    )


def test_reading_files_grows_linearly_with_their_number():
    """Parsing and reading back n small files costs linear time (n against 8n)."""

    def work(n: int) -> object:
        raw = attachment_mails._mail(
            "many",
            "many",
            attachment_mails._multipart(
                "mixed",
                "b",
                *(attachment_mails._file("text/plain", f"{i}.txt", b"x") for i in range(n)),
            ),
        )
        return attachment_contents(raw, parse_mail(raw).attachments)

    assert growth(work, 40) < MAX_GROWTH
