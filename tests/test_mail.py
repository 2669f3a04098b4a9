"""MIME -> Message: every charset and encoding decoded, structure walked, nothing ever raised."""

from __future__ import annotations

import pytest

from handler.inbound.attachments import Attachment
from handler.inbound.headers import Address
from handler.inbound.mail import parse_mail
from handler.inbound.protocol import Forwarded
from tests.conftest import TESTS

MAILS = TESTS / "mail"


def mail(name: str):
    return parse_mail((MAILS / name).read_bytes())


def test_base64_utf8_body_and_encoded_subject():
    """Base64 bodies and RFC 2047 B-encoded subjects are decoded."""
    message = mail("base64-utf8.eml")
    assert message.subject == "Grüße aus München"
    assert message.text == "Grüße aus München — the build is green ✓\n"
    assert message.from_ == (Address("Alice Example", "alice", "example.com"),)
    assert message.message_id == "base64-utf8@example.com"
    assert message.defects == ()


def test_quoted_printable_iso_8859_2():
    """Quoted-printable in a Central European charset, subject Q-encoded in the same."""
    message = mail("qp-iso-8859-2.eml")
    assert message.subject == "Zażółć gęślą jaźń"
    assert message.text is not None
    assert message.text.startswith("Zażółć gęślą jaźń: pomiar z czujnika nr 3 jest błędny")


def test_latin1_label_is_read_as_windows_1252():
    """Mail labelled ISO-8859-1 is windows-1252 in practice (smart quotes, the euro sign)."""
    assert mail("cp1252-declared-latin1.eml").text == (
        "The \u201cnightly\u201d job fails \u2013 costs 5 \u20ac per run.\n"
    )


def test_unknown_charset_still_decodes_and_is_recorded():
    """The stdlib raises on an unknown charset; we fall back to UTF-8 and note the defect."""
    message = mail("unknown-charset.eml")
    assert message.text == "Überprüft: läuft.\n"
    assert message.defects == ("unknown-charset:x-klingon",)


def test_broken_base64_decodes_what_it_can():
    """Garbage in a base64 body is a defect, not a crash; the readable start survives."""
    message = mail("broken-base64.eml")
    assert message.text is not None
    assert message.text.startswith("Hello world")
    assert message.defects == ("invalid-base64-characters",)


def test_nested_multiparts_are_walked_completely():
    """mixed > mixed > alternative > related: the plain text is chosen, every file is listed."""
    message = mail("nested-four-deep.eml")
    assert message.text == "Reply in plain text with a logo."
    assert message.html is None
    # The logo belongs to the HTML alternative (cid:logo@x), but it was sent all the same.
    assert message.attachments == (
        Attachment("attachment-1.png", "image/png", 8, content_id="logo@x"),
        Attachment("report.pdf", "application/pdf", 130),
    )


def test_html_only_mail_keeps_its_html_for_conversion():
    """Without a text/plain part the HTML is handed on; the renderer converts it."""
    message = mail("html-only.eml")
    assert message.text is None
    assert message.html is not None
    assert message.html.startswith('<div dir="ltr"><p>The <a href="https://example.com/log">')


def test_format_flowed_with_delsp():
    """RFC 3676: soft breaks joined, DelSp spaces removed, space-stuffing undone, sig kept."""
    assert mail("flowed-delsp.eml").text == (
        "This is a long line that the client wrapped for transport, but it is one paragraph. "
        "And it goes on after a space.\nFrom a space-stuffed line.\n\n-- \nAlice\n"
    )


def test_format_flowed_keeps_quote_depth():
    """Flowed quoted lines join with each other, never with unquoted text."""
    assert mail("flowed.eml").text == (
        "First part of a paragraph continues here.\n> quoted and flowed too\nHard break.\n"
    )


def test_attachment_names_in_every_encoding():
    """RFC 2231 and RFC 2047 file names are decoded; a nameless part is numbered, typed."""
    message = mail("rfc2231-filename.eml")
    assert message.text == "See attached."
    assert message.attachments == (
        Attachment("résumé \u2013 v2.pdf", "application/pdf", 8),
        Attachment("Messwerte_März.csv", "text/csv", 8),
        Attachment("attachment-1.bin", "application/octet-stream", 4),
    )


def test_forwarded_message_is_kept_apart_not_listed():
    """A message/rfc822 part is a Forwarded entry, not a file; its text is not mixed into the
    reply."""
    message = mail("forwarded-rfc822.eml")
    assert message.text == "Forwarding the original report."
    assert message.attachments == ()
    assert message.forwarded == (
        Forwarded(Address("", "bob", "example.org"), "", "Sensor 3 offline", "It is offline."),
    )


def test_international_addresses_and_group_syntax():
    """UTF-8 headers (RFC 6532), IDN domains in xn-- form, groups with no members, quoted commas."""
    message = mail("idn-from-group-to.eml")
    assert message.from_ == (Address("Jörg", "jörg", "xn--bcher-kva.example"),)
    assert message.to == ()
    assert message.cc == (
        Address("Issues, Web", "web-45", "issues.example.com"),
        Address("", "7", "issues.example.com"),
    )
    assert message.subject == "Bücher"
    assert message.headers[0] == ("From", "=?utf-8?q?J=C3=B6rg?= <jörg@Bücher.Example>")


def test_encoded_display_name_cannot_inject_an_address():
    """Addresses are parsed before display names are decoded: the encoded "<...>" stays a name."""
    raw = (
        b"From: =?utf-8?q?admin=40example.com_=3Cadmin=40example.com=3E?= <x@evil.example.net>\r\n"
        b"\r\nhi\r\n"
    )
    assert parse_mail(raw).from_ == (
        Address("admin@example.com <admin@example.com>", "x", "evil.example.net"),
    )


def test_headers_keep_order_and_raw_values():
    """Header fields come back in order, unfolded, not decoded: SES's block is judged on them."""
    raw = (
        b"Received: from a\r\n by b; Mon, 1 Jan 2026 00:00:00 +0000\r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\nX-Empty:\r\n\r\nbody\r\n"
    )
    message = parse_mail(raw)
    assert message.headers == (
        ("Received", "from a by b; Mon, 1 Jan 2026 00:00:00 +0000"),
        ("Subject", "=?utf-8?q?caf=C3=A9?="),
        ("X-Empty", ""),
    )
    assert message.header("subject") == "=?utf-8?q?caf=C3=A9?="
    assert message.subject == "café"


def test_two_from_headers_give_two_addresses():
    """A second From header is not hidden: the sender check then refuses the mail."""
    raw = b"From: a@example.com\r\nFrom: b@evil.example.net\r\n\r\nhi\r\n"
    assert [a.addr for a in parse_mail(raw).from_] == ["a@example.com", "b@evil.example.net"]


def test_control_characters_and_line_endings_are_normalised():
    """CRLF and CR become LF; NUL and other C0 controls are dropped; tabs stay."""
    raw = b"From: a@example.com\r\n\r\nline\x00one\r\nline\ttwo\rline\x1bthree\r\n"
    assert parse_mail(raw).text == "lineone\nline\ttwo\nlinethree\n"


def test_leading_blank_lines_before_the_header_are_ignored():
    """Some tools save a blank line first; the header is still read as a header."""
    message = parse_mail(b"\nFrom: a@example.com\nSubject: s\n\nbody\n")
    assert (message.subject, message.text) == ("s", "body\n")


def test_multipart_without_boundaries_is_read_as_text():
    """A multipart whose boundary never appears still yields its text."""
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/alternative; boundary=xyz\r\n\r\n"
        b"Just text.\r\n"
    )
    message = parse_mail(raw)
    assert message.text == "Just text.\n"
    assert "multipart-without-parts" in message.defects


def nested(depth: int) -> bytes:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(depth)
    )
    return ("From: a@example.com\r\n" + head + "Content-Type: text/plain\r\n\r\ndeep\r\n").encode()


def test_nesting_is_walked_to_a_bounded_depth():
    """Past 20 levels the walk stops with a defect instead of following the nesting."""
    assert parse_mail(nested(10)).text == "deep"
    shallow_enough = parse_mail(nested(30))
    assert (shallow_enough.text, shallow_enough.defects[:1]) == (None, ("nested-too-deep",))


def test_nesting_that_defeats_the_parser_keeps_the_header_but_no_body():
    """A thousand levels exhaust the stdlib parser: the sender is still known, no MIME is posted."""
    message = parse_mail(nested(1000))
    assert message.defects == ("unparseable: RecursionError",)
    assert [a.addr for a in message.from_] == ["a@example.com"]
    assert (message.text, message.html) == (None, None)


def test_many_parts_are_bounded():
    """Thousands of parts are cut at the part limit, with a defect."""
    parts = "".join(
        f"--b\r\nContent-Type: application/octet-stream\r\n\r\n{n}\r\n" for n in range(2000)
    )
    raw = (
        'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + parts
        + "--b--\r\n"
    ).encode()
    message = parse_mail(raw)
    assert "too-many-parts" in message.defects
    assert len(message.attachments) == 499


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe" * 100,
        b"not a mail at all",
        b"From: \r\n\r\n",
        b"Content-Type: text/plain; charset=\r\n\r\n\xff\xfe",
        b"Content-Type: text/plain; charset=rot13\r\n\r\nuryyb",
        b"Content-Type: text/plain; charset=base64\r\n\r\nhello",
        b"Content-Type: multipart/mixed\r\n\r\n--\r\n--\r\n",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n\r\n",
        b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 f\r\n#86)C\r\n`\r\nend\r\n",
        b"Subject: =?unknown-8bit?q?=FF?= =?utf-8?b?!!!?= =?x?q?a?=\r\n\r\n",
        b'From: <@>, <a@>, <@b>, "" <>, ,,, a@b@c\r\n\r\n',
        b"Content-Disposition: attachment; filename*=bogus''%ZZ\r\n"
        b"Content-Type: application/pdf\r\n\r\n",
        "Subject: caf\u00e9\r\nFrom: b\u00fccher@\u00fc.example\r\n\r\n\u00e9".encode("latin-1"),
    ],
)
def test_parse_mail_never_raises(raw):
    """Every input, however broken, gives a Message (and so a decision)."""
    message = parse_mail(raw)
    assert isinstance(message.subject, str)


def test_latin1_bytes_in_headers_fall_back_to_windows_1252():
    """8-bit header bytes that are not UTF-8 are read as windows-1252, not dropped."""
    raw = "Subject: caf\u00e9 \u20ac\r\n\r\n".encode("cp1252")
    assert parse_mail(raw).subject == "café €"


def test_delivery_report_parts_are_attachments_not_text():
    """A bounce's status and returned headers are listed as files; only its prose is text."""
    message = mail("bounce-report.eml")
    assert message.content_type == "multipart/report"
    assert message.message_id == "bounce-1@example.com"
    assert message.text == "The mail could not be delivered."
    assert message.attachments == (
        Attachment("attachment-1.txt", "message/delivery-status", 112),
        Attachment("attachment-2.txt", "text/rfc822-headers", 35),
    )


def test_blank_plain_alternative_falls_back_to_html_in_its_meta_charset():
    """A blank text/plain alternative is no body; the HTML one is, in its <meta> charset."""
    message = mail("blank-plain-alternative.eml")
    assert message.text is None
    assert message.html == (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "</head><body><p>Здравствуйте</p></body></html>"
    )


def test_mail_without_from_or_body():
    """No From header gives no address; a header-only mail gives neither text nor HTML."""
    message = parse_mail(b"To: 7@issues.example.com\r\nSubject: empty\r\n")
    assert (message.from_, message.sender, message.text, message.html) == ((), None, None, None)
    assert [a.addr for a in message.to] == ["7@issues.example.com"]


def test_sender_header_is_its_own_field():
    """Sender: is parsed like From but kept apart from it."""
    raw = b"From: a@example.com\r\nSender: List <list-bounces@Lists.Example.org>\r\n\r\nhi\r\n"
    assert parse_mail(raw).sender == Address("List", "list-bounces", "lists.example.org")


def test_binary_junk_gives_a_message_with_text():
    """Random bytes are read as a body with controls removed, never as a crash."""
    message = parse_mail(bytes(range(256)))
    assert message.headers == ()
    assert message.text is not None
    assert not any(c in message.text for c in "\x00\x01\x1b\x7f")


def test_utf8_body_with_stray_latin1_bytes_keeps_both():
    """Declared UTF-8 with a stray windows-1252 byte: the UTF-8 stays, the stray byte is read."""
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    raw += "Grüße ".encode() + b"caf\xe9\r\n"
    assert parse_mail(raw).text == "Grüße café\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@example.com>", "a@example.com"),
        ("<a@example.com> (sent by a gateway)", "a@example.com"),
        ("  a@example.com  ", "a@example.com"),
        ("<>", None),
    ],
)
def test_message_id(value, expected):
    """The Message-ID is the text inside its angle brackets, comments and spaces dropped."""
    raw = f"Message-ID: {value}\r\n\r\n".encode()
    assert parse_mail(raw).message_id == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("a@example.com, ", ["a@example.com"]),
        ("a@example.com,, b@example.org", ["a@example.com", "b@example.org"]),
        ('"Lee, Sam" <sam@example.com>', ["sam@example.com"]),
        ("sam@example.com (Sam Lee)", ["sam@example.com"]),
        ("Team: a@example.com, b@example.org;", ["a@example.com", "b@example.org"]),
        ("<a@EXAMPLE.com.>", ["a@example.com"]),
    ],
)
def test_address_lists(field, expected):
    """Address lists parse alike on every Python release, strict getaddresses or not."""
    raw = f"To: {field}\r\n\r\n".encode()
    assert [a.addr for a in parse_mail(raw).to] == expected


def test_a_name_without_an_address_still_counts_as_a_from_entry():
    """'a@x, Bob <' is two From entries, so a malformed From never passes as one mailbox."""
    message = parse_mail(b"From: a@example.com, Bob <\r\n\r\nhi\r\n")
    assert message.from_ == (Address("", "a", "example.com"), Address("Bob", "", ""))
    assert "malformed-address" in message.defects


def test_attachment_file_names_lose_the_senders_folders():
    """An Outlook-style path in a file name is cut to the file's own name."""
    raw = (
        b"From: a@example.com\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="C:\\\\Users\\\\me\\\\log.pdf"\r\n\r\nx'
    )
    assert parse_mail(raw).attachments == (Attachment("log.pdf", "application/pdf", 1),)


def test_a_charset_the_codec_registry_chokes_on_is_a_defect():
    """A charset name with a NUL made codecs.lookup raise ValueError; now it is just unknown."""
    raw = b'Content-Type: text/plain; charset="ut\\\x00f"\r\n\r\nok\r\n'
    message = parse_mail(raw)
    assert message.text == "ok\n"
    assert message.defects == ("unknown-charset:ut??f",)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 23 Nov 2026 09:13:51 +0000", 1795425231.0),
        ("Mon, 23 Nov 2026 10:13:51 +0100", 1795425231.0),
        ("Mon, 23 Nov 2026 09:13:51 -0000", 1795425231.0),
        ("yesterday", None),
        ("", None),
    ],
)
def test_the_date_a_mail_says_it_was_sent(date, expected):
    """Date as epoch seconds, whatever its zone; None when there is none or it is not a date."""
    raw = f"From: a@example.com\r\nDate: {date}\r\nSubject: x\r\n\r\nhi\r\n".encode()
    assert parse_mail(raw).date() == expected
    assert parse_mail(b"From: a@example.com\r\n\r\nhi\r\n").date() is None


# What the charset mails below say, in the writing their charsets are made for.
ZH_T = (
    "您好，\n\n昨天晚上的建置失敗了，錯誤紀錄在附件裡。\n"  # noqa: RUF001
    "請幫忙看一下是不是設定檔的問題，謝謝！\n"  # noqa: RUF001
)
ZH_S = (
    "你好，\n\n昨天晚上的构建失败了，错误日志在附件里。\n"  # noqa: RUF001
    "请帮忙看一下是不是配置文件的问题，谢谢！\n"  # noqa: RUF001
)
JA = (
    "お世話になっております。\n\n昨日のビルドが失敗しました。\n"
    "エラーログを添付しますので、ご確認ください。\n"
)
RU = (
    "Здравствуйте!\n\nСборка падает на последнем шаге, журнал ошибок во вложении.\n"  # noqa: RUF001
    "Спасибо заранее.\n"
)


@pytest.mark.parametrize(
    ("name", "subject", "text", "defects"),
    [
        ("utf8-labelled-big5.eml", "建置失敗", ZH_T, ("mislabelled-charset:big5",)),
        ("utf8-labelled-gb2312.eml", "构建失败", ZH_S, ("mislabelled-charset:gb2312",)),
        (
            "utf8-labelled-latin1.eml",
            "Błąd kompilacji",
            "Dzień dobry,\n\nnocna kompilacja się nie powiodła. Załączam dziennik błędów.\n"
            "Ściskam dłoń, Łukasz\n",
            ("mislabelled-charset:iso-8859-1",),
        ),
        ("utf8-labelled-shift-jis.eml", "ビルド失敗", JA, ("mislabelled-charset:shift_jis",)),
        ("big5-correct.eml", "建置失敗", ZH_T, ()),
        ("shift-jis-correct.eml", "ビルド失敗", JA, ()),
        ("iso-2022-jp-correct.eml", "ビルド失敗", JA, ()),
        ("koi8-r-correct.eml", "Сборка падает", RU, ()),
        ("undeclared-koi8-r.eml", "Build", RU, ()),
    ],
)
def test_mislabelled_utf8_is_read_as_utf8_and_right_labels_are_kept(name, subject, text, defects):
    """UTF-8 labelled with a legacy charset reads as UTF-8, said in a defect; text really in
    its declared (or no) legacy charset reads as written."""
    message = mail(name)
    assert (message.subject, message.text, message.defects) == (subject, text, defects)


def test_an_html_meta_charset_corrects_a_wrong_mime_label():
    """HTML in GB 2312 (its <meta> says so) labelled Big5 by MIME reads as GB 2312."""
    message = mail("html-meta-gb2312-mime-big5.eml")
    assert message.defects == ("mislabelled-charset:big5",)
    assert "<p>你好，</p><p>昨天晚上的构建失败了，错误日志在附件里。<br>" in message.html  # noqa: RUF001


def test_raw_8bit_attachment_names_are_read_as_utf8():
    """8-bit file names (filename=, name=) are UTF-8 first, else windows-1252; never U+FFFD."""
    assert mail("8bit-filename.eml").attachments == (
        Attachment("ciśle.txt", "text/plain", 3),
        Attachment("Überweisung März.pdf", "application/pdf", 8),
        Attachment("naïve.log", "application/octet-stream", 3),
    )


def test_rfc2231_names_with_a_wrong_or_missing_charset():
    """RFC 2231 names: UTF-8 under a Latin-1 label, sections without a charset, and the
    encoded form winning over the plain one."""
    assert [a.filename for a in mail("rfc2231-wrong-charset.eml").attachments] == [
        "ciśle.txt",
        "日本語のログ.txt",
        "ciśle.txt",
    ]


def test_a_broken_header_fold_never_reaches_the_body():
    """A Subject and a To broken without folding are whole; the body starts where it does."""
    message = mail("broken-fold.eml")
    assert message.subject == (
        "The nightly build fails on the arm64 runner since the upgrade of the toolchain to "
        "version 14"
    )
    assert message.header("To") == (
        "7@issues.example.com, bob@example.com, carol@example.com, dave@example.com"
    )
    assert message.header("Message-ID") == "<broken-fold@example.com>"
    assert message.text == "Hello,\n\nthe log is below.\n"
    assert message.defects == ()


def test_the_rest_of_a_wrapped_address_ending_the_header_is_no_body():
    """A Cc cut inside an address ("D <d@" / "example.com>") as the header's last line is the
    Cc's rest, not the body's first line."""
    raw = (
        b"From: Anna <anna@example.com>\r\nTo: 7@issues.example.com\r\nSubject: Log\r\n"
        b"Cc: C <c@example.com>, D <d@\r\nexample.com>\r\n\r\nThe log is attached.\r\n"
    )
    message = parse_mail(raw)
    assert message.cc == (
        Address("C", "c", "example.com"),
        Address("D", "d", "example.com"),
    )
    assert message.text == "The log is attached.\n"
    assert message.defects == ()


def test_a_body_after_a_missing_blank_line_stays_the_body():
    """Text right after the header, with no field after it, is the body (as the stdlib reads)."""
    message = mail("missing-separator.eml")
    assert message.subject == "Build"
    assert message.text == "Hello,\nError: the build fails on arm64.\n\nThanks, Alice\n"
    assert message.defects == ("missing-header-body-separator",)


def test_shift_jis_labelled_latin1_is_read_as_shift_jis():
    """ISO-8859-1 (read as windows-1252) gives U+FFFD for Shift_JIS bytes: the confident guess."""
    message = mail("shift-jis-labelled-latin1.eml")
    assert message.text == "Thanks, forwarded to\nピーター・ジョーンズ\n"
    assert message.defects == ("mislabelled-charset:iso-8859-1",)


def test_broken_folds_of_encoded_words_and_references():
    """A relay's unfolded encoded-word and References lines: the subject whole, every field
    after them read, the body only the body."""
    message = mail("broken-fold-encoded-words.eml")
    assert message.subject == "Re: Export schlägt fehl bei großen Dateien"
    assert message.header("References") == "<export-1@example.com> <export-2@example.com>"
    assert message.message_id == "broken-fold-encoded-words@example.com"
    assert message.text == "Hallo,\n\nder Export bricht ab 2 GB ab.\n"


def test_an_enriched_alternative_is_the_body_again_not_a_file():
    """Apple Mail's text/enriched alternative is another version of the body: not listed."""
    message = mail("apple-enriched-alternative.eml")
    assert message.text == "The export still takes ten minutes.\n"
    assert message.attachments == ()


def test_an_alternative_only_in_a_format_we_do_not_convert_is_read_as_text():
    """With no plain or HTML alternative, a text/richtext one is the text, markup and all."""
    message = mail("enriched-only-alternative.eml")
    assert message.text == "The export <bold>still</bold> takes ten minutes.\n"
    assert message.attachments == ()
