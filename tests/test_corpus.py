# Mails in other scripts are the point here: their full-width punctuation and dashes are real.
# ruff: noqa: RUF001
"""Our own corpus of real-client mails (tests/corpus), one file per case, named
<class>-<client>-<what>.eml after the classes of defects seen on real mail: empty-after-trim,
charsets, bottom-posting, HTML quote and signature markers, forwards, protocol parts (calendar,
signatures, encryption, TNEF), inline images and stray header lines.

Each mail is rendered as a comment and held to exact facts: lines the reader must see, text
that must be folded away, the attachment list, the footer. The layout is docs/inbound.md's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from handler.inbound.mail import parse_mail
from handler.inbound.plan import plan
from handler.inbound.render import Comment, render_comment
from tests.conftest import SES_ROUTES, TESTS
from tests.sesmail import ses_block
from tests.test_shared_emails import HEADER_ONLY

CORPUS = TESTS / "corpus"
RECIPIENT = "42@issues.example.com"
FOOTER = f"<sub>Sent by email to {RECIPIENT} · posted by ticket-router</sub>"
FOOTER_SMIME = FOOTER.replace(" · posted", " · signed: S/MIME (not verified) · posted")
FOOTER_PGP = FOOTER.replace(" · posted", " · signed: PGP (not verified) · posted")
_DETAILS = re.compile(r"<details>.*?</details>", re.DOTALL)
# A Markdown backslash escape: "IMG\_0042" and "IMG_0042" read the same on GitHub.
_ESCAPE = re.compile(r"\\([\\`*_\[\]{}()#+\-.!|<>~])")
# Names our parser makes up for a nameless part: a protocol part listed as a file.
_INVENTED = re.compile(r"^- attachment-\d+\.(asc|p7s|p7m|ics)\b", re.MULTILINE)


@dataclass(frozen=True)
class Expect:
    """What must hold for one mail's comment."""

    # Exact lines of the visible comment (the Markdown outside <details> blocks).
    visible: tuple[str, ...] = ()
    # Strings the visible comment contains (Markdown escapes ignored).
    visible_has: tuple[str, ...] = ()
    # Strings absent from the visible comment below its attribution line.
    hidden: tuple[str, ...] = ()
    # Strings inside the folded <details> blocks.
    folded: tuple[str, ...] = ()
    # The attachment list's lines, exactly; None when only the names are known (TNEF).
    attachments: tuple[str, ...] | None = ()
    attachment_names: tuple[str, ...] = ()
    # Visible lines that must follow a blank line (never glued to a quote).
    after_blank: tuple[str, ...] = ()
    first_line: str | None = None
    # Visible lines shown exactly once (a calendar event in two parts, a forward's heading).
    once: tuple[str, ...] = ()
    footer: str = FOOTER
    signatures: tuple[str, ...] = ()


EXPECTED: dict[str, Expect] = {
    # 1. Trimming never empties a mail that had text.
    "empty-iphone-unquoted-inline-answers.eml": Expect(
        visible=(
            "1. Yes, every export over 2 GB fails, smaller ones work.",
            "2. Version 4.2.1 on Windows 11, 64 GB RAM.",
            "3. No antivirus besides Defender.",
        ),
    ),
    "empty-mutt-only-quote.eml": Expect(
        visible=(
            "> The nightly build failed again on ARM64:",
            "> It started after the runner image update on Monday.",
        ),
    ),
    "empty-thunderbird-one-line-sent-from.eml": Expect(visible=("Sent from my Linux box.",)),
    "empty-outlook-german-one-line-gesendet.eml": Expect(
        visible=("Gesendet von meinem Laptop – der Fehler ist weg.",),
    ),
    "empty-k9-signature-first.eml": Expect(
        visible=("The 4.2.2 build fixes it here as well, closing from my side.",),
    ),
    "empty-yandex-russian-attribution-then-answer.eml": Expect(
        visible=("Да, ошибка повторяется на версии 4.2.1.", "Журнал прикладываю завтра."),
    ),
    # 2. Charsets: a wrong label loses to valid UTF-8 or a confident detection; right labels stay.
    "charset-gmail-utf8-labelled-big5.eml": Expect(
        visible=("安裝 4.2.1 之後程式無法啟動，錯誤代碼 0x80070005。", "陳家豪"),
        first_line="**陳家豪** wrote by email: **安裝後無法啟動**",
    ),
    "charset-foxmail-utf8-labelled-gb2312.eml": Expect(
        visible_has=("您好：", "升级到 3.2 以后，导出功能报错“权限不足”。"),
        first_line="**王伟** wrote by email: **导出报错**",
    ),
    "charset-thunderbird-raw-utf8-filename.eml": Expect(
        visible=("Voici le compte-rendu de la réunion de mardi.",),
        attachments=("- compte-rendu-réunion.txt (text/plain, 78 bytes)",),
    ),
    "charset-webmail-raw-utf8-subject-and-name.eml": Expect(
        visible=("Экспорт проекта размером 3 ГБ завершается ошибкой.",),
        first_line="**Иван Петров** wrote by email: **Ошибка при экспорте больших проектов**",
    ),
    "charset-script-utf8-labelled-us-ascii.eml": Expect(
        visible=("Grüße aus Wien: der Build läuft wieder, Größe des Exports 3,2 GB, Dauer 4 Min.",),
    ),
    "charset-shiftjis-labelled-latin1.eml": Expect(
        visible=("お世話になっております。", "エクスポートは 4.2.2 で正常に動作しました。"),
    ),
    "charset-iso2022jp-correct-label.eml": Expect(
        visible=("佐藤です。", "エクスポートの件、ログを添付します。"),
        first_line="**佐藤 健二** wrote by email: **エクスポートのお問い合わせ**",
    ),
    "charset-hebrew-windows-1255-correct-label.eml": Expect(
        visible=("הייצוא נכשל בקבצים גדולים.",),
        first_line="**חנה לוי** wrote by email: **שגיאה בייצוא**",
    ),
    # 3. Leading and interleaved quotes fold in place; the author's text never joins a quote.
    "bottom-thunderbird-no-blank-line.eml": Expect(
        visible=("Hello,", "right after the splash screen, every time."),
        after_blank=("Hello,",),
        hidden=("Support wrote:", "Does it crash before or after the splash screen?"),
        folded=(
            "On 3/5/25 11:40 AM, Support wrote:",
            "> Does it crash before or after the splash screen?",
        ),
    ),
    "bottom-mutt-interleaved.eml": Expect(
        visible=(
            "4.2.1, installed from the .deb package.",
            "No, a fresh profile starts fine.",
            "Will do tonight.",
        ),
        after_blank=("4.2.1, installed from the .deb package.", "No, a fresh profile starts fine."),
        hidden=("Support wrote:", "Which version are you running?", "Can you attach the log?"),
        folded=("> Which version are you running?", "> Does it also crash with a fresh profile?"),
    ),
    "bottom-outlook-dutch-schreef.eml": Expect(
        visible=("Hallo,", "het logbestand is leeg, de app schrijft niets voordat ze crasht."),
        after_blank=("Hallo,",),
        hidden=("schreef", "Kunt u het logbestand sturen?"),
        folded=("Op wo 5 mrt 2025 om 11:40 schreef Support", "> Kunt u het logbestand sturen?"),
    ),
    "bottom-gmail-german-schrieb.eml": Expect(
        visible=("Hallo zusammen,", "ja, auch im abgesicherten Modus stürzt sie sofort ab."),
        after_blank=("Hallo zusammen,",),
        hidden=("schrieb", "Tritt der Absturz"),
        folded=("> Tritt der Absturz auch im abgesicherten Modus auf?",),
    ),
    "bottom-evolution-french-interleaved.eml": Expect(
        visible=("Une Intel Arc A770, pilote 31.0.101.5333.", "Non, la 4.1 démarre normalement."),
        after_blank=(
            "Une Intel Arc A770, pilote 31.0.101.5333.",
            "Non, la 4.1 démarre normalement.",
        ),
        hidden=("a écrit", "Quelle carte graphique", "existe-t-il avec la version 4.1"),
        folded=(
            "> Quelle carte graphique utilisez-vous ?",
            "> Le problème existe-t-il avec la version 4.1 ?",
        ),
    ),
    # 4. The big clients' HTML quote and signature markers fold like text quotes.
    "markers-gmail-quote-and-signature.eml": Expect(
        visible=("The export works again with 4.2.2, thanks for the quick fix.",),
        hidden=("QA Lead, Example GmbH", "Could you try the 4.2.2 build"),
        folded=("QA Lead, Example GmbH", "Could you try the 4.2.2 build from the download page?"),
    ),
    "markers-outlookweb-divrplyfwdmsg-signature.eml": Expect(
        visible=("The fix is confirmed on all twelve workstations.",),
        hidden=("IT Operations", "Please roll out 4.2.2", "Sent: Wednesday"),
        folded=("Please roll out 4.2.2 to one workstation first.",),
    ),
    "markers-outlook-desktop-german-border-header.eml": Expect(
        visible=("der Export bricht weiterhin bei 2,1 GB ab, Protokoll folgt.",),
        hidden=("Gesendet:", "Betreff:", "Bitte testen Sie Version 4.2.2"),
        folded=("Bitte testen Sie Version 4.2.2 und melden Sie sich.",),
    ),
    "markers-apple-blockquote-cite-french.eml": Expect(
        visible=("Le correctif fonctionne aussi sur macOS 15.3.",),
        hidden=("Équipe support, Exemple SARL", "a écrit", "Pouvez-vous vérifier sur macOS"),
        folded=("Pouvez-vous vérifier sur macOS ?",),
    ),
    "markers-thunderbird-moz-cite-prefix-spanish.eml": Expect(
        visible=("con la versión 4.2.2 la exportación funciona de nuevo.",),
        hidden=("Soporte técnico", "escribió", "¿Puede probar"),
        folded=("¿Puede probar la versión 4.2.2?",),
    ),
    "markers-yahoo-quoted.eml": Expect(
        visible=("Still failing for me on 4.2.2, see the numbers below.",),
        hidden=("Rahul Mehta", "Sent from Yahoo Mail", "Could you try the 4.2.2 build?"),
        folded=("Could you try the 4.2.2 build?",),
    ),
    "markers-zimbra-quoted-text-french.eml": Expect(
        visible=("l'export de 3 Go passe maintenant en 2 minutes.",),
        hidden=("DSI – Université Exemple", "Envoyé:", "Pouvez-vous mesurer"),
        folded=("Pouvez-vous mesurer la durée de l'export ?",),
    ),
    # 5. Forwarded content stays visible, under one "Forwarded message" line.
    "forward-gmail-plain.eml": Expect(
        visible=(
            "This one came in through the old helpdesk, please track it here.",
            "**Forwarded message** from Printer Support · Wed, Mar 5, 2025 at 6:12 PM · "
            "Ticket 4411: toner error on floor 3",
            "> Hello Anna,",
            "> the printer on floor 3 reports error C-4411 after every toner change.",
        ),
        hidden=("---------- Forwarded message", "To: &lt;anna.schmidt"),
    ),
    "forward-gmail-french-localized.eml": Expect(
        visible=(
            "**Forwarded message** from Sophie Bernard · mer. 5 mars 2025 à 17:45 · "
            "Export impossible",
            "> l'export s'arrête à 99 % sur mon poste.",
        ),
        hidden=("De : Sophie", "Subject: Export impossible"),
    ),
    "forward-apple-begin-forwarded-message.eml": Expect(
        visible=(
            "Voir ci-dessous, reçu d'un client ce matin.",
            "**Forwarded message** from Jan de Vries · 6 March 2025 at 08:12:55 CET · "
            "Rapport d'erreur",
            "> l'application plante dès qu'on ouvre un projet de plus de 2 Go.",
        ),
        hidden=("Subject: Rapport",),
    ),
    "forward-outlook-fw-plain-header-block.eml": Expect(
        visible=(
            "Forwarding from accounts, see below.",
            "**Forwarded message** from Sarah Hughes · Wednesday, March 5, 2025 5:02 PM · "
            "Invoice export shows wrong VAT",
            "> The invoice export shows 19% VAT for UK customers; it should be 20%.",
        ),
        hidden=("Sent: Wednesday",),
    ),
    "forward-outlook-german-wg-header-block.eml": Expect(
        visible=(
            "Zur Info.",
            "**Forwarded message** from Petra Lange · Mittwoch, 5. März 2025 16:40 · "
            "Absturz beim Drucken",
            "> beim Drucken von Berichten mit mehr als 50 Seiten stürzt die Anwendung ab.",
        ),
        hidden=("Gesendet: Mittwoch", "Betreff: Absturz"),
    ),
    "forward-thunderbird-html-moz-forward-container.eml": Expect(
        visible=(
            "FYI, reported by our lab.",
            "**Forwarded message** from Lab Team · Wed, 5 Mar 2025 18:30:11 +0100 · "
            "Plot window freezes",
            "> The plot window freezes when more than 10 series are shown.",
        ),
        hidden=("| Subject: |", "| Date: |"),
    ),
    "forward-thunderbird-rfc822-attachment.eml": Expect(
        visible=(
            "Forwarding the lab's report as an attachment.",
            "**Forwarded message** from Lab Team · Wed, 5 Mar 2025 18:05:40 +0100 · "
            "Crash log from the lab",
            "> The export crashed again at 18:02, log attached.",
        ),
        once=("> The export crashed again at 18:02, log attached.",),
        attachments=("- export.log (text/plain, 70 bytes)",),
    ),
    # 6. Protocol parts: calendar summarised, signatures noted, TNEF decoded.
    "protocol-google-calendar-invite.eml": Expect(
        visible=(
            "**Calendar invitation:** Release review 4.2.2",
            "- When: 2025-03-11 14:00 (Europe/Berlin) – 2025-03-11 15:00 (Europe/Berlin)",
            "- Where: Room 4.12",
            "- Organiser: Anna Schmidt",
        ),
        once=("**Calendar invitation:** Release review 4.2.2",),
        attachments=("- invite.ics (application/ics, 1.1 KB)",),
    ),
    "protocol-outlook-calendar-cancellation.eml": Expect(
        visible=(
            "The sprint planning moves to next week.",
            "**Calendar cancellation:** Canceled: Sprint planning",
            "- When: 2025-03-12 13:00 UTC – 2025-03-12 14:30 UTC",
            "- Where: Microsoft Teams Meeting",
            "- Organiser: Oliver Bennett",
        ),
        attachments=("- invite.ics (text/calendar, 725 bytes)",),
    ),
    "protocol-outlook-smime-signed.eml": Expect(
        visible=("The signed export report for March is attached.",),
        attachments=("- export-report-march.pdf (application/pdf, 125 bytes)",),
        footer=FOOTER_SMIME,
        signatures=("S/MIME",),
    ),
    "protocol-thunderbird-pgp-mime-signed.eml": Expect(
        visible=("Confirmed fixed in 4.2.2 on Debian 12.",),
        footer=FOOTER_PGP,
        signatures=("PGP",),
    ),
    "protocol-mutt-inline-pgp-signed.eml": Expect(
        visible=("The release tarball checksum matches, 4.2.2 is good to go.",),
        hidden=("BEGIN PGP", "Hash: SHA256", "=Zx9y", "END PGP"),
        footer=FOOTER_PGP,
        signatures=("PGP",),
    ),
    "protocol-outlook-tnef-rtf-body.eml": Expect(
        visible=("anbei die Messwerte vom Dienstag, die Anzeige springt ab 22 Grad auf 0.",),
        attachments=None,
        attachment_names=("messwerte.csv",),
    ),
    "protocol-outlook-tnef-with-text.eml": Expect(
        visible=("Anbei das Protokoll und ein Bildschirmfoto.",),
        attachments=None,
        attachment_names=("fehler.log", "anzeige.png"),
    ),
    # 7. Inline images leave a marker where they were; stray header lines stay out.
    "image-outlook-plain-cid-marker.eml": Expect(
        visible=("[image: image001.png]",),
        hidden=("[cid:",),
        attachments=("- image001.png (image/png, 70 bytes)",),
    ),
    "image-gmail-html-cid.eml": Expect(
        visible_has=("inline: [image: Screenshot 2025-03-06 at 14.10.22.png]",),
        attachments=("- Screenshot 2025-03-06 at 14.10.22.png (image/png, 70 bytes)",),
    ),
    "image-iphone-html-cid.eml": Expect(
        visible_has=("[image: IMG_0042.jpeg]", "Il reste bloqué ici."),
        attachments=("- IMG\\_0042.jpeg (image/jpeg, 90 bytes)",),
    ),
    "image-outlook-html-cid-unmatched.eml": Expect(
        visible_has=("[image: Diagramm der Exportdauer]", "und das Logo der Firma: [image]"),
    ),
    "image-header-continuation-subject-leak.eml": Expect(
        visible=("Der Fehler tritt nur bei Dateien über 2 GB auf.",),
        hidden=("=?UTF-8?", "Message-ID", "Content-Type", "Date:"),
        first_line=(
            "**Jan de Vries** wrote by email: **Re: Export schlägt fehl bei großen Dateien**"
        ),
    ),
    "image-header-continuation-references-leak.eml": Expect(
        visible=("The dialog fits at 100% scaling, only 125% and 150% cut it off.",),
        hidden=("issue-42-q9", "MIME-Version", "Content-Transfer-Encoding"),
    ),
}

# Encrypted mails are refused with their own reason; they come from an allowed sender, as SES
# stored them (tests.sesmail's block: DKIM, SPF and DMARC pass for example.com).
ENCRYPTED = {
    "protocol-thunderbird-pgp-mime-encrypted.eml": "PGP",
    "protocol-outlook-smime-encrypted.eml": "S/MIME",
}


def render(name: str) -> tuple[Comment, str]:
    message = parse_mail((CORPUS / name).read_bytes())
    return render_comment(message, RECIPIENT), message


def visible_part(markdown: str) -> str:
    """The comment as GitHub shows it unfolded: without its <details> blocks."""
    return _DETAILS.sub("", markdown)


def folded_part(markdown: str) -> str:
    return "\n".join(_DETAILS.findall(markdown))


def attachment_lines(markdown: str) -> list[str]:
    lines = markdown.split("\n")
    heads = [i for i, line in enumerate(lines) if line.startswith("**Attachments** (not posted, ")]
    if not heads:
        return []
    out = []
    for line in lines[heads[-1] + 1 :]:
        if not line.startswith("- "):
            break
        out.append(line)
    return out


def unescaped(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


def test_corpus_is_complete():
    """Every mail in tests/corpus has its expectations here, and each class has five or more."""
    names = {path.name for path in CORPUS.glob("*.eml")}
    assert names == set(EXPECTED) | set(ENCRYPTED)
    for kind in ("empty", "charset", "bottom", "markers", "forward", "protocol", "image"):
        assert sum(name.startswith(kind + "-") for name in names) >= 5, kind


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_mail_reads_right(name: str):
    """The comment of each corpus mail shows what its author wrote, exactly as laid out."""
    expect = EXPECTED[name]
    comment, message = render(name)
    markdown = comment.markdown
    assert not comment.empty
    assert "\ufffd" not in markdown
    assert not _INVENTED.search(markdown)
    visible = visible_part(markdown)
    lines = visible.split("\n")
    for line in expect.visible:
        assert line in lines, line
    for text in expect.visible_has:
        assert text in unescaped(visible), text
    below_attribution = unescaped("\n".join(lines[1:]))
    for text in expect.hidden:
        assert text not in below_attribution, text
    folded = folded_part(markdown)
    for text in expect.folded:
        assert text in folded, text
    for line in expect.after_blank:
        assert line in lines, line
        assert lines[lines.index(line) - 1] == "", line
    if expect.attachments is not None:
        assert attachment_lines(markdown) == list(expect.attachments)
    if expect.attachment_names:
        listed = [unescaped(line[2:]).rsplit(" (", 1)[0] for line in attachment_lines(markdown)]
        assert listed == list(expect.attachment_names)
    for line in expect.once:
        assert lines.count(line) == 1, line
    if expect.first_line is not None:
        assert lines[0] == expect.first_line
    assert markdown.rstrip("\n").split("\n")[-1] == expect.footer
    assert message.signatures == expect.signatures


@pytest.mark.parametrize(("name", "kind"), sorted(ENCRYPTED.items()))
def test_encrypted_mail_is_refused_with_its_own_reason(name: str, kind: str):
    """An encrypted mail (PGP/MIME, S/MIME enveloped) is never posted: it is refused as
    encrypted-mail, and its control or enveloped part is never listed as a file."""
    raw = (CORPUS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    message = parse_mail(raw)
    assert message.encryption == kind
    assert not _INVENTED.search(render_comment(message, "7@issues.example.com").markdown)
    [decision] = plan(ses_block().encode() + raw, SES_ROUTES).decisions
    assert (decision.action, decision.reason) == ("reject", "encrypted-mail")


_PROTOCOL_TYPES = (
    "application/pgp-signature",
    "application/pgp-encrypted",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
)


def test_gitlab_mails_render_without_mojibake_or_protocol_files(shared_emails: Path):
    """Every GitLab mail renders without U+FFFD (its Shift_JIS mail labelled ISO-8859-1 is
    decodable, and decoded), is empty only when it has no body at all, and lists no signature
    or encryption part as a file."""
    paths = sorted((shared_emails / "gitlab").glob("*.eml"))
    assert paths
    for path in paths:
        message = parse_mail(path.read_bytes())
        comment = render_comment(message, RECIPIENT)
        assert "\ufffd" not in comment.markdown, path.name
        assert comment.empty == (path.name in HEADER_ONLY), path.name
        assert not _INVENTED.search(comment.markdown), path.name
        assert not [a for a in message.attachments if a.content_type in _PROTOCOL_TYPES], path.name
    shift_jis = shared_emails / "gitlab" / "service_desk_reply_illegal_utf8.eml"
    japanese = parse_mail(shift_jis.read_bytes())
    assert "ピーター・ジョーンズ" in render_comment(japanese, RECIPIENT).markdown
