"""Measured on real mails from other projects' suites (../shared/emails; skipped without it).

GitLab's fixtures (spec/fixtures/emails) with the reply text GitLab's own ReplyParser spec
expects, where the spec states it. Formatting that is GitLab's choice rather than the author's
(its HTML->text flattening of tables) is not compared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handler.inbound.html_markdown import html_to_markdown
from handler.inbound.mail import parse_mail
from handler.inbound.trim import trim_reply

FOX = "The quick brown fox jumps over the lazy dog."

# gitlabhq spec/lib/gitlab/email/reply_parser_spec.rb, and the receiver specs for the rest.
# The seven header-only fixtures (no blank line, no body), as a look at the files confirms. Five
# more send a blank text/plain alternative: their HTML one is the body.
HEADER_ONLY = frozenset(
    {
        "valid_new_issue_empty.eml",
        "valid_new_merge_request.eml",
        "valid_new_merge_request_no_description.eml",
        "valid_new_merge_request_no_subject.eml",
        "wrong_authentication_token.eml",
        "wrong_issue_incoming_email_token.eml",
        "wrong_merge_request_incoming_email_token.eml",
    }
)
EXPECTED = {
    "dutch.eml": "Dit is een antwoord in het Nederlands.",
    "on_wrote.eml": "Sure, all you need to do is frobnicate the foobar and you'll be all set!",
    "outlook_html.eml": "Microsoft Outlook 2010",
    "html_empty_link.eml": "no brackets!",
    "paragraphs.eml": (
        "Is there any reason the *old* candy can't be kept in silos while the new candy\n"
        "is imported into *new* silos?\n\n"
        "The thing about candy is it stays delicious for a long time -- we can just keep\n"
        "it there without worrying about it too much, imo.\n\n"
        "Thanks for listening."
    ),
    "plaintext_only.eml": (
        "### reply from default mail client in Windows 8.1 Metro\n\n\n"
        + " ".join([FOX] * 9)
        + "\n\n\nThis is a **bold** word in Markdown\n\n\nThis is a link http://example.com"
    ),
    "ios_default.eml": (
        "### this is a reply from iOS default mail\n\n"
        + " ".join([FOX] * 7)
        + "\n\nHere's some **bold** markdown text.\n\nHere's a link http://example.com"
    ),
    "valid_new_issue_with_quote.eml": (
        "The reply by email functionality should be extended to allow creating a new issue by "
        "email.\neven when the email is forwarded to the project which may include lines that "
        'begin with ">"\n\nthere should be a quote below this line:'
    ),
    "signature_delimiter_reply.eml": "This is the actual reply body.",
    "valid_reply.eml": (
        "I could not disagree more. I am obviously biased but adventure time is the\n"
        "greatest show ever created. Everyone should watch it.\n\n- Jake out"
    ),
    "valid_reply_signed_smime.eml": "Me too, with an attachment",
    # GitLab rejects these three as empty; we post a mail that had text whole, as Discourse's
    # trimmer does (docs/inbound.md#trim).
    "no_content_with_quote.eml": "--\n> quote line 1\n> quote line 2\n> quote line 3",
    "valid_new_issue_with_only_quotes.eml": (
        "> This email has been forwarded without new content.\n> There are only quotes.\n"
        "> Quote 1\n> Quote 2"
    ),
    "service_desk_all_quoted.eml": (
        "> This is an empty quote\n> someone did forward this email without\n"
        "> adding any new content."
    ),
}


def reply_of(path: Path) -> str:
    message = parse_mail(path.read_bytes())
    source = message.text if message.text and message.text.strip() else None
    if source is None:
        source = html_to_markdown(message.html or "")
    body = trim_reply(source).body
    return "\n".join(line.rstrip() for line in body.split("\n")).strip()


def test_every_gitlab_fixture_parses(shared_emails: Path, capsys: pytest.CaptureFixture[str]):
    """All 68 GitLab mails parse; every one that carries a body yields text, HTML or files."""
    folder = shared_emails / "gitlab"
    paths = sorted(folder.glob("*.eml"))
    empty = []
    for path in paths:
        message = parse_mail(path.read_bytes())
        assert not any(d.startswith("unparseable") for d in message.defects), path.name
        text = (message.text or "").strip() or (message.html or "").strip()
        if not text and not message.attachments:
            empty.append(path.name)
    with capsys.disabled():
        print(f"\n  gitlab: {len(paths)} mails parsed, {len(empty)} without any body")
    assert len(paths) == 68
    assert empty == sorted(HEADER_ONLY)


def test_gitlab_reply_trimming(shared_emails: Path, capsys: pytest.CaptureFixture[str]):
    """The reply GitLab's spec expects is exactly what we keep, for every fixture it states."""
    folder = shared_emails / "gitlab"
    results = {name: reply_of(folder / name) == expected for name, expected in EXPECTED.items()}
    with capsys.disabled():
        for name, right in results.items():
            print(f"  {'ok  ' if right else 'MISS'} {name}")
        print(f"  {sum(results.values())}/{len(results)} right")
    assert [name for name, right in results.items() if not right] == []
