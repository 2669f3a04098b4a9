"""routes.yaml: validation with plain errors, address lookup, sender domain matching."""

from __future__ import annotations

import pytest

from handler.routes import (
    Miss,
    RoutesError,
    Target,
    load_routes,
    parse_routes,
    sender_allowed,
)
from tests.conftest import ROOT, TESTS


def route(domain: str = "issues.example.com", **keys: str) -> str:
    lines = [f"  - domain: {domain}"]
    lines += [f"    {key}: {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(RoutesError) as caught:
        parse_routes(text, "routes.yaml")
    return list(caught.value.errors)


SAMPLE = load_routes(ROOT / "routes.yaml")


def test_the_shipped_routes_file_is_valid():
    """The sample routes.yaml loads with its three routes for two domains."""
    assert [(r.domain, r.prefix, r.repo) for r in SAMPLE.routes] == [
        ("anomalies.unseen.ac.uk", "", "unseen-lab/anomaly-tracker"),
        ("issues.example.com", "web-", "example-org/website"),
        ("issues.example.com", "docs-", "example-org/docs"),
    ]
    assert SAMPLE.domains == ("anomalies.unseen.ac.uk", "issues.example.com")
    assert SAMPLE.routes[1].allowed_senders == ("example.com", "*.example.org")
    assert SAMPLE.routes[1].label == "route 1 (web-@issues.example.com)"
    assert SAMPLE.routes[0].label == "route 0 (anomalies.unseen.ac.uk)"


def test_optional_keys_are_read_and_values_normalised():
    """name and keep_quoted are read; domains, prefixes and sender domains are lowercased."""
    [only] = parse_routes(
        "routes:\n"
        + route(
            "Issues.Example.COM.",
            prefix="Web-",
            repo="Example-Org/Web.site",
            allowed_senders="[Example.COM, '*.Lab.Example.org']",
            name="website",
            keep_quoted="false",
        ),
        "r.yaml",
    ).routes
    assert (only.domain, only.prefix, only.repo, only.name, only.keep_quoted) == (
        "issues.example.com",
        "web-",
        "Example-Org/Web.site",
        "website",
        False,
    )
    assert only.allowed_senders == ("example.com", "*.lab.example.org")


def test_international_domains_are_stored_in_ascii_form():
    """A Unicode recipient domain is kept as its xn-- form, which is what SES reports."""
    routes = parse_routes(
        "routes:\n" + route("bücher.example", repo="o/r", allowed_senders="[bücher.example]"),
        "r.yaml",
    )
    assert routes.domains == ("xn--bcher-kva.example",)
    assert isinstance(routes.lookup("5@BÜCHER.example"), Target)
    assert sender_allowed(routes.routes[0], "xn--bcher-kva.example")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("123@anomalies.unseen.ac.uk", ("unseen-lab/anomaly-tracker", 123)),
        ("<123@Anomalies.Unseen.AC.UK>", ("unseen-lab/anomaly-tracker", 123)),
        ("WEB-45@issues.example.com", ("example-org/website", 45)),
        ("docs-7@issues.example.com", ("example-org/docs", 7)),
        ("2147483647@anomalies.unseen.ac.uk", ("unseen-lab/anomaly-tracker", 2147483647)),
        ("2147483648@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("0@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("007@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("+7@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("-7@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("7+reply@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("\uff17@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("web-@issues.example.com", "invalid-issue-number"),
        ("web-4a@issues.example.com", "invalid-issue-number"),
        ("45@issues.example.com", "invalid-issue-number"),
        ("help@issues.example.com", "invalid-issue-number"),
        ("123@unseen.ac.uk", "no-route"),
        ("123@anomalies.unseen.ac.uk.evil.net", "no-route"),
        ("123@", "invalid-address"),
        ("@anomalies.unseen.ac.uk", "invalid-address"),
        ("no-at-sign", "invalid-address"),
        ('"12 3"@anomalies.unseen.ac.uk', "invalid-address"),
        ("123@[192.0.2.1]", "invalid-address"),
    ],
)
def test_lookup(address, expected):
    """<prefix><number>@domain, case-insensitive; anything else is refused with a reason."""
    found = SAMPLE.lookup(address)
    if isinstance(expected, tuple):
        assert isinstance(found, Target)
        assert (found.route.repo, found.issue) == expected
    else:
        assert isinstance(found, Miss)
        assert found.reason == expected


def test_invalid_number_detail_shows_the_expected_form():
    """The detail tells the sender what an address on that domain looks like."""
    assert SAMPLE.lookup("help@issues.example.com") == Miss(
        "invalid-issue-number",
        "'help' is not <prefix><issue number> for issues.example.com "
        "(expected e.g. web-123 or docs-123)",
    )
    assert SAMPLE.lookup("1@other.example.net") == Miss(
        "no-route", "no route for the domain other.example.net"
    )


def test_longest_prefix_wins():
    """With prefixes "" and "web-" on one domain, web-5 goes to the web- route."""
    routes = parse_routes(
        "routes:\n"
        + route(repo="o/all", allowed_senders="[example.com]")
        + route(prefix="web-", repo="o/web", allowed_senders="[example.com]")
        + route(prefix="web-x-", repo="o/webx", allowed_senders="[example.com]"),
        "r.yaml",
    )
    found = [routes.lookup(a) for a in ("5@issues.example.com", "web-5@issues.example.com")]
    found.append(routes.lookup("web-x-5@issues.example.com"))
    assert [(t.route.repo, t.issue) for t in found if isinstance(t, Target)] == [
        ("o/all", 5),
        ("o/web", 5),
        ("o/webx", 5),
    ]


@pytest.mark.parametrize(
    ("sender", "allowed"),
    [
        ("example.com", True),
        ("EXAMPLE.com.", True),
        ("www.example.com", False),
        ("evilexample.com", False),
        ("example.com.evil.net", False),
        ("lab.example.org", True),
        ("a.b.lab.example.org", True),
        ("example.org", False),
        ("evil-example.org", False),
        ("example.org.evil.net", False),
        ("", False),
        ("[192.0.2.1]", False),
    ],
)
def test_sender_allowed(sender, allowed):
    """example.com is exact; *.example.org is any subdomain only; never a bare suffix."""
    assert sender_allowed(SAMPLE.routes[1], sender) is allowed


def test_every_error_is_reported_at_once_with_route_and_key():
    """One run of `check` lists every problem, route by route, naming the file, route and key."""
    path = TESTS / "routes" / "many-errors.yaml"
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    assert [e.removeprefix(f"{path}: ") for e in caught.value.errors] == [
        "route 0 (issues..example.com): the required key `allowed_senders` is missing",
        "route 0 (issues..example.com): unknown key `allowed_sender` (did you mean "
        "`allowed_senders`?); known keys: allowed_senders, domain, keep_quoted, name, prefix, repo",
        'route 0 (issues..example.com): `domain` "issues..example.com" is not a valid domain name',
        'route 0 (issues..example.com): `repo` "example-org" is not of the form owner/name '
        "(e.g. example-org/website)",
        "route 1 (v@issues.example.com): `allowed_senders` is empty: list at least one sender "
        "domain",
        'route 2 (v1@issues.example.com): `repo` "example-org/site.git" ends in .git: write '
        "owner/name without it",
        'route 2 (v1@issues.example.com): `allowed_senders` entry "*" is not a sender domain: '
        "a wildcard is written *.example.org and matches subdomains only",
        'route 2 (v1@issues.example.com): `allowed_senders` entry "@example.com" is not a sender '
        "domain: list the domain only, e.g. example.com",
        'route 2 (v1@issues.example.com): `allowed_senders` entry "*example.com" is not a sender '
        "domain: a wildcard is written *.example.org and matches subdomains only",
        'route 2 (v1@issues.example.com): `allowed_senders` entry "bob@example.com" is not a '
        "sender domain: list the domain only, e.g. example.com",
        "route 3 (issues.example.com): `keep_quoted` must be true or false, not 'maybe'",
        "route 3 (issues.example.com): `prefix` must be text, not the number 12 (quote it)",
        'route 4 (a b@issues.example.com): `prefix` "a b" cannot start an address: use letters, '
        "digits and characters such as - _ . + (no spaces, no @)",
        'route 4 (a b@issues.example.com): `repo` "-org/app" is not of the form owner/name '
        "(e.g. example-org/website)",
    ]


def test_two_routes_for_the_same_domain_and_prefix_are_rejected():
    """A second route for web-@issues.example.com (in any case) is a conflict, not an override."""
    text = "routes:\n" + route(prefix="web-", repo="o/a", allowed_senders="[example.com]")
    text += route("ISSUES.example.com", prefix="WEB-", repo="o/b", allowed_senders="[x.org]")
    assert errors_of(text) == [
        "routes.yaml: route 1 (web-@issues.example.com): same domain and prefix as route 0 "
        "(web-@issues.example.com); merge them or give one a different prefix"
    ]


@pytest.mark.parametrize(
    ("shorter", "longer", "ambiguous"),
    [
        ("v", "v1", True),
        ("''", "'1'", True),
        ("web-", "web-12", True),
        ("x", "x0", False),
        ("web-", "web-x-", False),
        ("''", "web-", False),
        ("a", "b", False),
    ],
)
def test_prefixes_that_make_an_address_ambiguous_are_rejected(shorter, longer, ambiguous):
    """v and v1 on one domain: v12 could be issue 2 of one or issue 12 of the other."""
    text = "routes:\n" + route(prefix=shorter, repo="o/short", allowed_senders="[example.com]")
    text += route(prefix=longer, repo="o/long", allowed_senders="[example.com]")
    if not ambiguous:
        assert len(parse_routes(text, "routes.yaml").routes) == 2
        return
    [error] = errors_of(text)
    assert error.startswith("routes.yaml: route 1 (")
    assert "make addresses ambiguous with route 0" in error


def test_the_same_prefixes_on_different_domains_do_not_conflict():
    """Ambiguity and duplicates are judged per domain."""
    text = "routes:\n" + route("a.example.com", prefix="v", repo="o/a", allowed_senders="[x.org]")
    text += route("b.example.com", prefix="v", repo="o/b", allowed_senders="[x.org]")
    text += route("b.example.com", prefix="v1", repo="o/c", allowed_senders="[x.org]")
    assert len(errors_of(text)) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "routes.yaml: the file is empty; it needs a `routes:` list"),
        ("- a\n", "routes.yaml: the top level must be a mapping with a `routes:` list"),
        ("routes: []\n", "routes.yaml: `routes` is empty: list at least one route"),
        ("routes:\n", "routes.yaml: `routes` must be a list, not empty"),
        (
            "routes:\n  - domain: a.example.com\n   repo: o/r\n",
            "routes.yaml: line 3, column 4: not valid YAML: expected <block end>, but found "
            "'<block mapping start>'",
        ),
        (
            "routes:\n  - domain: a.example.com\n    repo: o/r\n    repo: o/s\n"
            "    allowed_senders: [x.org]\n",
            'routes.yaml: line 4, column 5: not valid YAML: the key "repo" appears twice in one '
            "mapping",
        ),
        (
            "routes:\n  - example.com\n",
            "routes.yaml: route 0: the route must be a mapping, not 'example.com'",
        ),
    ],
)
def test_file_level_errors(text, expected):
    """Empty files, wrong shapes, YAML syntax and repeated keys each get one plain message."""
    assert errors_of(text) == [expected]


def test_a_misspelt_top_level_key_is_named_with_a_suggestion():
    """`route:` instead of `routes:` says both what is missing and what was meant."""
    assert errors_of("route: []\n") == [
        "routes.yaml: the required key `routes` is missing",
        "routes.yaml: unknown key `route` (did you mean `routes`?); known keys: routes",
    ]


@pytest.mark.parametrize(
    "repo",
    [
        "owner",
        "owner/",
        "/name",
        "own er/name",
        "owner/na me",
        "owner/name/x",
        "-owner/name",
        "owner-/name",
        "ow--ner/name",
        "owner/..",
        "o" * 40 + "/name",
    ],
)
def test_malformed_repositories_are_rejected(repo):
    """repo must be owner/name as GitHub allows them."""
    [error] = errors_of("routes:\n" + route(repo=f"'{repo}'", allowed_senders="[example.com]"))
    assert error.endswith("is not of the form owner/name (e.g. example-org/website)")


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "a..example.com",
        "-a.example.com",
        "192.0.2.1",
        "[192.0.2.1]",
        "a_b.example.com",
        "x" * 64 + ".example.com",
    ],
)
def test_malformed_domains_are_rejected(domain):
    """A recipient domain must be a host name with at least two labels, not an IP address."""
    [error] = errors_of("routes:\n" + route(f"'{domain}'", repo="o/r", allowed_senders="[x.org]"))
    assert error.endswith("is not a valid domain name")


def test_a_missing_file_is_reported_with_its_path(tmp_path):
    """An unreadable routes file is a RoutesError naming the path and the reason."""
    with pytest.raises(RoutesError) as caught:
        load_routes(tmp_path / "absent.yaml")
    assert caught.value.errors == (
        f"{tmp_path / 'absent.yaml'}: cannot read the routes file: No such file or directory",
    )


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    """Latin-1 bytes are reported, not a UnicodeDecodeError traceback."""
    path = tmp_path / "routes.yaml"
    path.write_bytes("routes:\n  - domain: b\xfccher.example\n".encode("latin-1"))
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    assert caught.value.errors == (f"{path}: the routes file is not UTF-8 text",)
