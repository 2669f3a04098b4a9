"""Previews: `dispatch --dry-run --assume-authenticated` judges a mail written by hand (no SES
block) as if SES had authenticated it, and says so on every decision that rests on it; a file
that is not a mail says so."""

from __future__ import annotations

import json

import pytest

from handler.cli import main
from handler.inbound.authenticity import ASSUMED, assess
from handler.inbound.mail import parse_mail
from handler.inbound.plan import plan
from handler.routing import load_routes
from handler.service.inbound import Receiver, Runtime
from tests.conftest import ROOT, TESTS
from tests.sesmail import ses_mail

ROUTES_FILE = TESTS / "lambda" / "routes.yaml"
ROUTES = load_routes(ROUTES_FILE)
HAND_WRITTEN = TESTS / "preview" / "hand-written.eml"
OUTSIDER = TESTS / "preview" / "outsider.eml"
LABEL = "    ASSUMED, not checked (--assume-authenticated): "
TO_7 = "SES received the mail for 7@issues.example.com (its To or Cc)"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def preview(capsys, *argv: str) -> tuple[int, str, str]:
    flags = ["--dry-run", "--assume-authenticated", "--routes", str(ROUTES_FILE)]
    return run(capsys, "dispatch", *flags, *argv)


def test_a_hand_written_mail_is_previewed_with_every_assumption_labelled(capsys):
    """The comment it would post, for each To and Cc address at a route's domain (not
    bob@gmail.com), each decision saying what was assumed."""
    status, out, err = preview(capsys, str(HAND_WRITTEN))
    assert (status, err) == (0, "")
    assert out == (
        f"{HAND_WRITTEN} -> 7@issues.example.com: would comment on example-org/app#7\n"
        f"{LABEL}{TO_7} and SES authenticated example.com\n"
        "    | **Alice** wrote by email: **Build fails**\n"
        "    | \n"
        "    | The build fails on ARM.\n"
        "    | \n"
        "    | <sub>Sent by email to 7@issues.example.com · posted by ticket-router</sub>\n"
        "    | <!-- ticket-router:mail=d2604511856dfacb22d1ddbb5f41310f -->\n"
        "\n"
        f"{HAND_WRITTEN} -> 8x@issues.example.com: rejected (invalid-issue-number) -\n"
        f"{LABEL}SES received the mail for 8x@issues.example.com (its To or Cc)\n"
        '    "8x" is not <prefix><issue number> for issues.example.com (expected e.g. 123)\n'
        "\n"
    )


def test_json_names_the_assumption_of_each_decision(capsys):
    """--json: "assumed" holds what the decision rests on in SES's stead; the sender's
    authentication is assumed, never whether the route allows the sender's domain."""
    status, out, _ = preview(capsys, "--json", str(HAND_WRITTEN), str(OUTSIDER))
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    to_8x = "SES received the mail for 8x@issues.example.com (its To or Cc)"
    assert [(x["recipient"], x["action"], x["reason"], x["assumed"]) for x in lines] == [
        (
            "7@issues.example.com",
            "comment",
            "accepted",
            f"{TO_7} and SES authenticated example.com",
        ),
        ("8x@issues.example.com", "reject", "invalid-issue-number", to_8x),
        (
            "7@issues.example.com",
            "reject",
            "sender-not-allowed",
            f"{TO_7} and SES authenticated evil.example",
        ),
    ]
    assert lines[2]["detail"].startswith(
        "evil.example is not among the sender domains allowed for "
    )


def test_recipients_given_are_not_assumed(capsys):
    """With --recipient only the sender's authentication is assumed."""
    status, out, _ = preview(
        capsys, "--json", "--recipient", "8@issues.example.com", str(HAND_WRITTEN)
    )
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (status, line["recipient"], line["action"], line["issue"], line["assumed"]) == (
        0,
        "8@issues.example.com",
        "reject",
        8,
        None,
    )
    # The To and Cc do not name 8@: a signed mail re-sent elsewhere, whoever signed it.
    assert line["reason"] == "not-addressed"


def test_a_mail_with_ses_block_is_judged_on_ses_verdicts_alone(capsys, tmp_path):
    """SES's own block wins over the flag: nothing is assumed, a DMARC fail stays one."""
    mail = tmp_path / "m.eml"
    mail.write_bytes(ses_mail(dmarc="fail", dkim="fail", spf="fail"))
    status, out, _ = preview(capsys, "--json", str(mail))
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (status, line["reason"], line["assumed"]) == (0, "not-authenticated", None)


def test_without_the_flag_the_detail_says_how_to_preview(capsys):
    """A mail without SES's block is not-authenticated, and the detail names the flag."""
    status, out, _ = run(
        capsys,
        "dispatch",
        "--dry-run",
        "--routes",
        str(ROUTES_FILE),
        "--recipient",
        "7@issues.example.com",
        str(HAND_WRITTEN),
    )
    assert status == 0
    assert out == (
        f"{HAND_WRITTEN} -> 7@issues.example.com: rejected (not-authenticated) "
        "example-org/app#7\n"
        "    no SES verdicts: the mail has no SES header block (it did not arrive through SES), "
        "so nothing vouches for example.com; to preview it as if SES had authenticated "
        "example.com: ticket-router dispatch --dry-run --assume-authenticated\n"
        "\n"
    )


def test_the_flag_without_dry_run_is_refused_in_one_line(capsys, monkeypatch):
    """Nothing is posted on an assumption: exit 2 before the routes or a token are read."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    status, out, err = run(capsys, "dispatch", "--assume-authenticated", str(HAND_WRITTEN))
    assert (status, out) == (2, "")
    assert err == (
        "ticket-router dispatch: error: --assume-authenticated is for previews only: add "
        "--dry-run (nothing is posted on an assumption)\n"
    )


def test_a_receiver_that_posts_never_assumes():
    """The receiver itself refuses the assumption outside a dry run."""
    with pytest.raises(ValueError, match="dry run only"):
        Receiver(Runtime(ROUTES, store=None), assume_authenticated=True)  # type: ignore[arg-type]


def test_the_assumption_passes_dmarc_for_the_from_domain_only():
    """ASSUMED vouches for whatever the From domain is; the checks around it still apply."""
    message = parse_mail(HAND_WRITTEN.read_bytes())
    assessment = assess(message, ASSUMED)
    assert (assessment.ok, assessment.reason, assessment.detail, assessment.assumed) == (
        True,
        "authenticated",
        "assumed, not verified: DMARC pass for example.com (the mail has no SES header block)",
        True,
    )
    # A Sender of another domain is refused under the assumption too, and says it rests on it.
    raw = HAND_WRITTEN.read_bytes().replace(b"Subject:", b"Sender: bot@other.example\r\nSubject:")
    [decision, _] = plan(raw, ROUTES, assume_authenticated=True).decisions
    assert (decision.reason, decision.assumed) == (
        "sender-mismatch",
        f"{TO_7} and SES authenticated example.com",
    )


def test_an_automated_mail_is_refused_before_anything_is_assumed():
    """An auto-reply is one whoever sent it: its decision rests on no assumption of the
    sender's authentication (only on the recipient taken from To)."""
    raw = HAND_WRITTEN.read_bytes().replace(
        b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:"
    )
    decision = plan(raw, ROUTES, assume_authenticated=True).decisions[0]
    assert (decision.reason, decision.assumed) == ("auto-reply", TO_7)


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("empty.eml", "it is empty"),
        ("screenshot.png", "it holds binary data: a NUL byte at offset 8"),
    ],
)
def test_a_file_that_is_not_a_mail_says_so_and_exits_1(capsys, name: str, detail: str):
    """dispatch names what the file is, assumption or not, and exits 1: likely the wrong file;
    the files after it still get their decisions."""
    path = TESTS / "not-a-mail" / name
    status, out, err = preview(capsys, str(path), str(HAND_WRITTEN))
    assert (status, err) == (1, "")
    assert out.startswith(
        f"{path} -> (no recipient): rejected (not-a-mail) -\n    {detail}\n\n"
        f"{HAND_WRITTEN} -> 7@issues.example.com: would comment on example-org/app#7\n"
    )


def test_the_examples_are_previewed_as_without_the_flag(capsys):
    """Mails that carry SES's block (examples/mail) are judged the same with the flag."""
    examples = [str(path) for path in sorted((ROOT / "examples" / "mail").glob("*.eml"))]
    routes = str(ROOT / "routes.yaml")
    argv = ["dispatch", "--dry-run", "--json", "--routes", routes, *examples]
    with_flag = run(capsys, *argv, "--assume-authenticated")
    without = run(capsys, *argv)
    assert with_flag == without
    assert len(with_flag[1].splitlines()) == len(examples)


def test_no_assumption_reaches_a_real_delivery():
    """plan's default assumes nothing: a mail without SES's block stays not-authenticated."""
    [decision] = plan(
        HAND_WRITTEN.read_bytes(), ROUTES, recipients=["7@issues.example.com"]
    ).decisions
    assert (decision.reason, decision.assumed) == ("not-authenticated", None)
