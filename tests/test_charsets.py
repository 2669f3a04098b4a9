"""Bytes and header words -> text: declared charsets, the labels senders really use, RFC 2047."""
# ruff: noqa: RUF001 - real CJK text holds fullwidth punctuation

from __future__ import annotations

import pytest

from handler.inbound.charsets import decode_bytes, decode_header_value
from handler.inbound.headers import parameter, raw_headers, repair_folds
from tests.complexity import MAX_GROWTH, growth


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        (b"caf\xc3\xa9", None, ("café", None)),
        (b"caf\xe9", None, ("café", None)),
        (b"caf\xe9", "us-ascii", ("café", None)),
        (b"\x93q\x94", "iso-8859-1", ("\u201cq\u201d", None)),
        (b"\xb1\xe6", "ISO-8859-2", ("ąć", None)),
        (b"\xc7\xd1\xb1\xdb", "ks_c_5601-1987", ("한글", None)),
        (b"\xd6\xd0\xce\xc4", "gb2312", ("中文", None)),
        (b"+AOk-", "unicode-1-1-utf-7", ("é", None)),
        (b"ok", "x-klingon", ("ok", "unknown-charset:x-klingon")),
        (b"ok", "rot13", ("ok", "unknown-charset:rot13")),
    ],
)
def test_decode_bytes(data, charset, expected):
    """Declared charsets, the labels senders really use, and unknown ones."""
    assert decode_bytes(data, charset) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?Re=3A_caf=C3=A9?=", "Re: café"),
        ("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "éé"),
        ("=?x-unknown?q?caf=C3=A9?=", "café"),
        ("=?utf-8?q?broken", "=?utf-8?q?broken"),
        ("plain   text\twith  spaces", "plain text with spaces"),
        ("=?ISO-2022-JP?B?GyRCJEgbKEI=?=", "と"),
        ("=?utf-8?q?=E2=82?= =?utf-8?q?=AC?=", "€"),
        ("=?utf-8?b?4oI=?=\r\n =?UTF-8?B?rA==?= rate", "€ rate"),
        ("=?utf-8?q?a?= =?iso-8859-1?q?=E9?= b", "aé b"),
        ("=?utf-8?b?w6k?=", "é"),
        ("=?utf-8*en?q?hi?=", "hi"),
        ("=?utf-8?q?a?= C:\\users\\u0041", "a C:\\users\\u0041"),
        ("tab\there\x00", "tab here"),
    ],
)
def test_decode_header_value(value, expected):
    """RFC 2047 words in any charset, malformed ones left as written, whitespace collapsed."""
    assert decode_header_value(value) == expected


def test_data_that_is_mostly_not_utf8_is_read_as_windows_1252():
    """Past a thousand stray bytes the whole text is windows-1252, in one fast pass."""
    assert decode_bytes(b"caf\xe9 " * 2000, None) == ("café " * 2000, None)


# Real text in each legacy charset, as its own codec writes it: never "corrected".
LEGACY = [
    ("您好，昨天晚上的建置失敗了，錯誤紀錄在附件裡。", "big5"),
    ("你好，昨天晚上的构建失败了，错误日志在附件里。", "gb2312"),
    ("你好，昨天晚上的构建失败了。", "gbk"),
    ("お世話になっております。昨日のビルドが失敗しました。", "shift_jis"),
    ("お世話になっております。昨日のビルドが失敗しました。", "euc-jp"),
    ("お世話になっております。昨日のビルドが失敗しました。", "iso-2022-jp"),
    ("안녕하세요. 어제 밤 빌드가 실패했습니다.", "euc-kr"),
    ("Здравствуйте! Сборка падает на последнем шаге.", "koi8-r"),
    ("Здравствуйте! Сборка падает на последнем шаге.", "windows-1251"),
    ("Добрий день! Нічна збірка не вдалася.", "koi8-u"),
    ("שלום, הבנייה נכשלה אתמול בלילה.", "iso-8859-8"),
    ("שלום, הבנייה נכשלה אתמול בלילה.", "windows-1255"),
    ("Γεια σας, η κατασκευή απέτυχε χθες το βράδυ.", "iso-8859-7"),
    ("Dzień dobry, nocna kompilacja się nie powiodła. Łukasz", "iso-8859-2"),
    ("Grüße aus Köln, der Build ist fehlgeschlagen.", "iso-8859-1"),
    ("مرحبا، فشل البناء الليلة الماضية.", "windows-1256"),
    ("สวัสดีครับ การสร้างเมื่อคืนล้มเหลว", "tis-620"),
]


@pytest.mark.parametrize(("text", "charset"), LEGACY)
def test_correctly_labelled_legacy_text_is_never_overridden(text, charset):
    """Text in its declared legacy charset reads as written, whole and word by word."""
    for piece in [text, *text.split()]:
        assert decode_bytes(piece.encode(charset), charset) == (piece, None)


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("您好，建置失敗了。", "big5"),
        ("你好，构建失败了。", "gb2312"),
        ("中文", "gb2312"),
        ("中文\n", "gbk"),
        ("お世話になっております。", "shift_jis"),
        ("Zażółć gęślą jaźń", "iso-8859-1"),
        ("Привет", "koi8-r"),
        ("ビルド", "iso-2022-jp"),
    ],
)
def test_utf8_labelled_with_a_legacy_charset_reads_as_utf8(text, charset):
    """UTF-8 the declared charset cannot read (or reads only as mojibake) is UTF-8, said so."""
    assert decode_bytes(text.encode(), charset) == (text, f"mislabelled-charset:{charset}")


def test_a_label_whose_reading_has_replacement_characters_yields_to_a_confident_guess():
    """Not UTF-8 either: charset-normalizer's guess, when it reads the data whole."""
    text = "Здравствуйте! Сборка падает на последнем шаге, журнал ошибок во вложении.\n" * 3
    assert decode_bytes(text.encode("koi8-r"), "iso-2022-jp") == (
        text,
        "mislabelled-charset:iso-2022-jp",
    )


def test_a_short_text_is_not_guessed():
    """A few 8-bit bytes are no evidence: the label's reading stays, replacement and all."""
    assert decode_bytes("Сборка".encode("koi8-r"), "iso-2022-jp") == (
        "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd",
        None,
    )


def test_undeclared_legacy_text_is_detected_when_windows_1252_makes_a_mess_of_it():
    """No label and not UTF-8: Cyrillic is read as what it is, Western text as windows-1252."""
    russian = "Здравствуйте! Сборка падает на последнем шаге, журнал ошибок во вложении.\n" * 2
    assert decode_bytes(russian.encode("koi8-r"), None) == (russian, None)
    assert decode_bytes(russian.encode("koi8-r"), "utf-8") == (
        russian,
        "mislabelled-charset:utf-8",
    )
    western = "Grüße aus Köln, der nächtliche Build ist fehlgeschlagen. Señor, ça va?\n" * 4
    assert decode_bytes(western.encode("cp1252"), None) == (western, None)


def test_an_html_meta_charset_wins_over_a_cjk_label_that_cannot_read_the_data():
    """GB 2312 bytes labelled Big5 (Big5-HKSCS reads them as other characters) with a <meta>."""
    text = "你好，昨天晚上的构建失败了，错误日志在附件里。"
    assert decode_bytes(text.encode("gb2312"), "big5", hint="gb2312") == (
        text,
        "mislabelled-charset:big5",
    )
    # A one-byte label and a one-byte hint both read anything: the MIME label wins.
    assert decode_bytes("Größe".encode("cp1252"), "windows-1252", hint="iso-8859-2") == (
        "Größe",
        None,
    )


def test_encoded_words_with_a_wrong_charset():
    """An RFC 2047 word labelled gb2312 or iso-8859-1 holding UTF-8 reads as UTF-8."""
    assert decode_header_value("=?gb2312?B?5Lit5paH?=") == "中文"
    assert decode_header_value("=?iso-8859-1?Q?ci=C5=9Ble?=") == "ciśle"
    assert decode_header_value("=?gb2312?B?1tDOxA==?=") == "中文"


def test_detection_is_linear_in_the_size_of_the_data():
    """charset-normalizer reads a bounded sample; the rest is decoded once."""
    line = "Здравствуйте! Сборка падает на последнем шаге, журнал ошибок.\n".encode("koi8-r")
    assert growth(lambda size: decode_bytes(line * size, "iso-2022-jp"), 2_000) < MAX_GROWTH
    assert growth(lambda size: decode_bytes(line * size, None), 2_000) < MAX_GROWTH


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('attachment; filename="ci\udcc5\udc9ble.txt"', "ciśle.txt"),
        ("attachment; filename=ci\udcc5\udc9ble.txt", "ciśle.txt"),
        ('attachment; filename="na\udcefve.log"', "naïve.log"),
        ("attachment; filename*=UTF-8''ci%C5%9Ble.txt", "ciśle.txt"),
        ("attachment; filename*=iso-8859-1''ci%C5%9Ble.txt", "ciśle.txt"),
        ("attachment; filename*=iso-8859-2''ci%B6le.txt", "ciśle.txt"),
        ("attachment; filename*=''ci%C5%9Ble.txt", "ciśle.txt"),
        ("attachment; filename*=ci\udcc5\udc9ble.txt", "ciśle.txt"),
        ("attachment; filename*0*=utf-8''ci%C5; filename*1*=%9Ble; filename*2=.txt", "ciśle.txt"),
        ("attachment; filename*=utf-8''new.txt; filename=old.txt", "new.txt"),
        ('attachment; filename="=?utf-8?b?Y2nFm2xlLnR4dA==?="', "ciśle.txt"),
        ('attachment; filename="a \\"b\\".txt"', 'a "b".txt'),
        ("attachment", None),
    ],
)
def test_parameter(value, expected):
    """File name parameters: 8-bit bytes UTF-8 first, RFC 2231 with a wrong or no charset."""
    assert parameter(value, "filename") == expected


def test_parameter_is_linear_in_its_sections():
    """Thousands of RFC 2231 sections are read in one pass."""
    assert (
        growth(
            lambda size: parameter(
                "a" + "".join(f"; filename*{n}*=%C5%9B" for n in range(size)), "filename"
            ),
            1_000,
        )
        < MAX_GROWTH
    )


BROKEN = (
    b"From: a@example.com\r\nTo: b@example.com,\r\nc@example.com\r\n"
    b"Subject: The nightly build fails since the upgrade of the\r\ntoolchain\r\n"
    b"Content-Type: text/plain\r\n\r\nHello\r\n"
)


def test_lines_broken_off_a_field_are_joined_to_it():
    """A broken fold with header fields after it becomes a continuation, for parse and raw view."""
    assert repair_folds(BROKEN) == BROKEN.replace(b"\r\nc@", b"\r\n c@").replace(
        b"\r\ntoolchain", b"\r\n toolchain"
    )
    assert raw_headers(BROKEN) == (
        ("From", "a@example.com"),
        ("To", "b@example.com, c@example.com"),
        ("Subject", "The nightly build fails since the upgrade of the toolchain"),
        ("Content-Type", "text/plain"),
    )


@pytest.mark.parametrize(
    "raw",
    [
        # No blank line after the header: what follows the fields is the body.
        b"From: a@example.com\r\nSubject: x\r\nHello\r\nNote: it fails\r\n",
        # A missing blank line, the body's paragraph ending at the first blank one.
        b"From: a@example.com\r\nSubject: x\r\nHello,\r\nit fails.\r\n\r\nThanks\r\n",
        # "Error:" is no header field: no evidence that the header goes on.
        b"From: a@example.com\r\nSubject: x\r\nHello,\r\nError: it fails.\r\n\r\nThanks\r\n",
        # The first line is no field: the stdlib reads the whole as body.
        b"Hello\r\nFrom: a@example.com\r\n\r\nx\r\n",
        b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n",
    ],
)
def test_a_body_after_the_header_is_never_swallowed(raw):
    """Text after the fields, with no real field after it, stays the body: bytes unchanged."""
    assert repair_folds(raw) is raw


def test_authentication_reads_no_field_a_broken_line_could_hide():
    """The raw view joins only into Subject/To/Cc/Bcc, and never reads a From past a break."""
    forged = b"From: mallory@evil.example\r\n<ceo@victim.example>\r\nSubject: x\r\n\r\nbody\r\n"
    assert raw_headers(forged) == (("From", "mallory@evil.example"),)
    hidden = b"Subject: the report\r\nof the week\r\nFrom: ceo@victim.example\r\n\r\nbody\r\n"
    assert raw_headers(hidden) == (("Subject", "the report"),)
    # The body's parse still keeps the broken line out of the body.
    assert repair_folds(hidden) == hidden.replace(b"\r\nof", b"\r\n of")


def test_fold_repair_is_linear():
    """Many broken lines, and a long header block, are repaired in one pass."""

    def work(size: int) -> object:
        raw = b"Subject: a\r\n" + b"broken line\r\nX-Field: y\r\n" * size + b"\r\nbody\r\n"
        return repair_folds(raw), raw_headers(raw)

    assert growth(work, 2_000) < MAX_GROWTH
