"""Unsubscribe links and addresses: their shape, that only our own links are accepted, and the
pages they open."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from handler.outbound.http import Request
from handler.outbound.participants import address_digest
from handler.outbound.unsubscribe import (
    UnsubscribeRequest,
    confirmation_page,
    invalid_link_page,
    read_unsubscribe,
    try_later_page,
    unsubscribe_key,
    unsubscribe_mailto,
    unsubscribe_url,
    unsubscribed_page,
)
from handler.reasons import Reason

SECRET = b"webhook-secret-0123456789"
KEY = unsubscribe_key(SECRET)
BASE = "https://abc123.lambda-url.eu-west-1.on.aws/"
ADDRESS = "Alice.Moreau@Example.com"
DIGEST = address_digest(ADDRESS)


def query_of(url: str) -> str:
    return urlsplit(url).query


def link() -> str:
    return unsubscribe_url(BASE, KEY, "Example-Org/Site", 42, ADDRESS)


def test_key_is_hmac_of_the_secret_under_its_own_label():
    """The key is HMAC-SHA256(secret, "ticket-router unsubscribe v1"), never the secret."""
    expected = hmac.new(SECRET, b"ticket-router unsubscribe v1", hashlib.sha256).digest()
    assert expected == KEY
    assert KEY != SECRET


def test_url_shape():
    """The link is <base>/unsubscribe with r, i, p and s, and never names the address."""
    url = link()
    mac = hmac.new(KEY, f'["example-org/site",42,"{DIGEST}"]'.encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    assert url == BASE + f"unsubscribe?r=Example-Org/Site&i=42&p={DIGEST}&s={signature}"
    assert "alice" not in url.lower()
    assert hashlib.sha256(ADDRESS.lower().encode()).hexdigest()[:32] == DIGEST


def test_base_without_trailing_slash_gives_the_same_link():
    """A base URL with or without its trailing slash makes the same link."""
    assert unsubscribe_url(BASE.rstrip("/"), KEY, "Example-Org/Site", 42, ADDRESS) == link()


def test_round_trip():
    """read_unsubscribe reads back the repository, issue and digest of our link."""
    assert read_unsubscribe(query_of(link()), KEY) == UnsubscribeRequest(
        repo="Example-Org/Site", issue=42, digest=DIGEST
    )


def test_repository_case_does_not_matter():
    """The mac covers the lowercased repository: GitHub's names are case-insensitive."""
    lower = unsubscribe_url(BASE, KEY, "example-org/site", 42, ADDRESS)
    assert query_of(lower).split("&s=")[1] == query_of(link()).split("&s=")[1]


def test_address_case_does_not_matter():
    """Two spellings of one address make the same link."""
    assert unsubscribe_url(BASE, KEY, "Example-Org/Site", 42, ADDRESS.lower()) == link()


def test_extra_parameters_are_ignored():
    """A tracker's parameter appended to the link does not break it."""
    assert read_unsubscribe(query_of(link()) + "&utm_source=mail", KEY) is not None


def _replace(name: str, value: str) -> str:
    fields = parse_qs(query_of(link()))
    fields[name] = [value]
    return "&".join(f"{key}={values[0]}" for key, values in fields.items())


@pytest.mark.parametrize(
    "query",
    [
        _replace("r", "Example-Org/Other"),
        _replace("r", "example-org/site/x"),
        _replace("i", "43"),
        _replace("i", "042"),
        _replace("i", "+42"),
        _replace("i", "2147483648"),
        _replace("i", "99999999999999999999"),
        _replace("p", address_digest("mallory@example.com")),
        _replace("p", DIGEST.upper()),
        _replace("s", "A" * 43),
        _replace("s", parse_qs(query_of(link()))["s"][0][:-1]),
        _replace("s", parse_qs(query_of(link()))["s"][0] + "="),
        query_of(link()) + "&i=42",
        query_of(link()).replace("&s=", "&x="),
        "",
        "r=&i=&p=&s=",
        "%zz",
    ],
    ids=[
        "other-repo",
        "bad-repo",
        "other-issue",
        "leading-zero",
        "signed-issue",
        "issue-too-large",
        "issue-huge",
        "other-digest",
        "uppercase-digest",
        "forged-mac",
        "short-mac",
        "padded-mac",
        "repeated-field",
        "missing-mac",
        "empty",
        "blank-fields",
        "bad-escape",
    ],
)
def test_tampered_links_are_refused(query):
    """Every changed, missing, repeated or malformed field makes the link invalid."""
    assert read_unsubscribe(query, KEY) is None


def test_link_of_another_key_is_refused():
    """A link signed with another secret's key is refused."""
    other = unsubscribe_url(BASE, unsubscribe_key(b"other secret"), "Example-Org/Site", 42, ADDRESS)
    assert read_unsubscribe(query_of(other), KEY) is None


def test_too_many_fields_are_refused():
    """A query of thousands of fields is refused before it is parsed in full."""
    assert read_unsubscribe(query_of(link()) + "&x=1" * 5000, KEY) is None


def test_mailto_shape():
    """The unsubscribe address is <prefix><issue>+unsubscribe@<domain> with a subject."""
    assert (
        unsubscribe_mailto("web-", 45, "issues.example.com")
        == "mailto:web-45+unsubscribe@issues.example.com?subject=unsubscribe"
    )
    assert (
        unsubscribe_mailto("", 7, "issues.example.com")
        == "mailto:7+unsubscribe@issues.example.com?subject=unsubscribe"
    )


def _confirmation() -> tuple[dict[str, str], str]:
    query = query_of(link())
    request = Request("GET", "/unsubscribe", query, {}, b"")
    link_read = read_unsubscribe(query, KEY)
    assert link_read is not None
    response = confirmation_page(request, link_read).response
    return dict(response.headers), response.body


def test_confirmation_page_says_what_the_button_does():
    """The page names the issue, says that only its mail stops and that writing again
    subscribes again, and its button POSTs the one-click body to the same link."""
    _, body = _confirmation()
    assert "<h1>Stop getting mail about Example-Org/Site#42?</h1>" in body
    assert "Only this issue&#x27;s mail stops" in body
    assert "write to this issue by mail again" in body
    action = "/unsubscribe?" + query_of(link()).replace("&", "&amp;")
    assert (
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    ) in body


def test_pages_run_no_script_and_allow_only_their_own_style():
    """Every page's policy allows its one inline style by hash, never 'unsafe-inline', and no
    page holds a script."""
    link_read = UnsubscribeRequest("Example-Org/Site", 42, DIGEST)
    pages = [
        unsubscribed_page(link_read, removed=True),
        unsubscribed_page(link_read, removed=False),
        invalid_link_page(),
        try_later_page(Reason.STORE_UNAVAILABLE, "down"),
    ]
    for response in [page.response for page in pages]:
        [style] = re.findall(r"<style>(.*?)</style>", response.body, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        policy = response.headers["Content-Security-Policy"]
        assert f"style-src 'sha256-{digest}'" in policy
        assert "unsafe" not in policy
        assert policy.startswith("default-src 'none';")
        assert "<script" not in response.body


def test_done_page_says_how_to_come_back():
    """After unsubscribing, the page says that mail about this issue stops and how to get it
    again."""
    body = unsubscribed_page(UnsubscribeRequest("Example-Org/Site", 42, DIGEST), removed=True)
    text = body.response.body
    assert "You will no longer get mail about Example-Org/Site#42." in text
    assert "Write to this issue by mail again" in text
