"""routes.yaml: validation with plain errors, address lookup, sender domain matching."""

from __future__ import annotations

import json
import sys

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import handler.routing.validate as validation
from handler.routing import (
    MAX_ISSUE_NUMBER,
    GitHubApp,
    Miss,
    NewIssue,
    Route,
    Routes,
    RoutesError,
    RoutesUnreadable,
    Target,
    TokenSecret,
    load_routes,
    parse_routes,
    routes_json,
    sender_allowed,
)
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import ROOT, TESTS

FIXTURES = TESTS / "routes"
KNOWN_KEYS = (
    "allow_bcc, allowed_senders, api_url, attachments, cc_participants, confirm, contact, domain, "
    "github_app, keep_quoted, labels, max_age, name, new_issue_address, notices, notify, "
    "notify_participants, prefix, repo, show_sender_address, token_secret"
)


def route(domain: str = "issues.example.com", **keys: str) -> str:
    """One route of a routes file, its values written as YAML."""
    lines = [f"  - domain: {domain}"]
    lines += [f"    {key}: {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def ok(domain: str = "issues.example.com", **keys: str) -> str:
    """A route that is valid unless ``keys`` make it otherwise."""
    return route(domain, **({"repo": "o/r", "allowed_senders": "[example.com]"} | keys))


def errors_of(text: str) -> list[str]:
    with pytest.raises(RoutesError) as caught:
        parse_routes(text, "routes.yaml")
    return list(caught.value.errors)


def at(text: str, written: str, occurrence: int = 1) -> str:
    """``LINE:COL`` (1-based) where ``written`` starts in ``text``, its n-th occurrence: how an
    editor counts."""
    start = -1
    for _ in range(occurrence):
        start = text.index(written, start + 1)
    before = text[:start]
    return f"{before.count(chr(10)) + 1}:{start - before.rfind(chr(10))}"


# Where the one route of a routes file made by ok() starts: at its domain key.
ROUTE_1 = "2:5"


SAMPLE = load_routes(ROOT / "routes.yaml")


# --- loading -------------------------------------------------------------------------------


def test_the_shipped_routes_file_is_valid():
    """The sample routes.yaml loads with its three routes for two domains."""
    assert SAMPLE.routes == (
        Route(0, "anomalies.unseen.ac.uk", "", "unseen-lab/anomaly-tracker", ("unseen.ac.uk",)),
        Route(
            1,
            "issues.example.com",
            "web-",
            "example-org/website",
            ("example.com", "*.example.org"),
            name="Example website",
            new_issue_address="web-new",
            labels=("from-email",),
            notify_participants=True,
        ),
        Route(2, "issues.example.com", "docs-", "example-org/docs", ("example.com",)),
    )
    assert SAMPLE.domains == ("anomalies.unseen.ac.uk", "issues.example.com")
    assert SAMPLE.source == str(ROOT / "routes.yaml")


def test_labels_name_the_index_and_the_address_form():
    """A route is named by its number, counted from 1, and prefix@domain, or the domain alone
    without a prefix."""
    assert [r.label for r in SAMPLE.routes] == [
        "route 1 (anomalies.unseen.ac.uk)",
        "route 2 (web-@issues.example.com)",
        "route 3 (docs-@issues.example.com)",
    ]


def test_optional_keys_are_read_and_values_normalised():
    """Optional keys are read; domains, prefixes and sender domains are lowercased."""
    [only] = parse_routes(
        "routes:\n"
        + route(
            "Issues.Example.COM.",
            prefix="Web-",
            repo="Example-Org/Web.site",
            allowed_senders="[Example.COM., '*.Lab.Example.org']",
            name="website",
            keep_quoted="false",
            show_sender_address="true",
        ),
        "r.yaml",
    ).routes
    assert only == Route(
        index=0,
        domain="issues.example.com",
        prefix="web-",
        repo="Example-Org/Web.site",
        allowed_senders=("example.com", "*.lab.example.org"),
        name="website",
        keep_quoted=False,
        show_sender_address=True,
    )


def test_sender_addresses_are_not_shown_unless_a_route_opts_in():
    """Without show_sender_address a route keeps sender addresses out of its comments."""
    [only] = parse_routes("routes:\n" + ok(), "r.yaml").routes
    assert only.show_sender_address is False


def test_international_domains_are_stored_in_ascii_form():
    """A route's xn-- domain matches mail to its Unicode form; sender domains may be written in
    Unicode and are compared as their xn-- form."""
    routes = parse_routes(
        "routes:\n"
        + route("XN--Bcher-kva.example", repo="o/r", allowed_senders="['*.bücher.example']"),
        "r.yaml",
    )
    assert routes.domains == ("xn--bcher-kva.example",)
    assert routes.routes[0].allowed_senders == ("*.xn--bcher-kva.example",)
    assert routes.lookup("5@BÜCHER.example") == Target(routes.routes[0], 5)
    assert routes.lookup("5@xn--bcher-kva.example") == Target(routes.routes[0], 5)
    assert sender_allowed(routes.routes[0], "mail.bücher.example") is True
    assert sender_allowed(routes.routes[0], "mail.xn--bcher-kva.example") is True


@pytest.mark.parametrize(
    ("written", "ascii_form"),
    [
        ("tickets.münchen.de", "tickets.xn--mnchen-3ya.de"),
        ("Bücher.example.", "xn--bcher-kva.example"),
        ("issues.例え.jp", "issues.xn--r8jz45g.jp"),
    ],
)
def test_an_international_route_domain_is_refused_with_its_ascii_form(written, ascii_form):
    """SES and Terraform take a recipient domain in its xn-- form only, and Terraform cannot
    convert: `check` refuses the Unicode form and says exactly what to write."""
    text = "routes:\n" + ok(written)
    assert errors_of(text) == [
        f"routes.yaml:2:13: route 1 ({ascii_form}): domain "
        f"{json.dumps(written, ensure_ascii=False)} is internationalised: write it as "
        f"{ascii_form} (SES and Terraform take the xn-- form only)"
    ]


def test_anchors_and_merge_keys_are_honoured():
    """<<: *anchor merges a route, and an explicit key overrides a merged one without complaint."""
    routes = load_routes(FIXTURES / "anchors.yaml")
    assert [(r.prefix, r.repo, r.allowed_senders, r.keep_quoted) for r in routes.routes] == [
        ("web-", "example-org/website", ("example.com", "*.example.org"), True),
        ("docs-", "example-org/docs", ("example.com", "*.example.org"), False),
        ("", "unseen-lab/anomaly-tracker", ("example.com", "*.example.org"), True),
    ]


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted():
    """A file saved by a Windows editor loads like any other."""
    routes = load_routes(FIXTURES / "bom-crlf.yaml")
    assert routes.domains == ("issues.example.com",)


def test_a_missing_file_is_reported_with_its_path(tmp_path):
    """An unreadable routes file is a RoutesError naming the path and the reason."""
    with pytest.raises(RoutesError) as caught:
        load_routes(tmp_path / "absent.yaml")
    assert caught.value.errors == (
        f"{tmp_path / 'absent.yaml'}: cannot read the routes file: No such file or directory",
    )


def test_a_directory_is_reported_with_its_path(tmp_path):
    """Pointing at a directory gives the OS reason, not a traceback."""
    with pytest.raises(RoutesError) as caught:
        load_routes(tmp_path)
    assert caught.value.errors == (f"{tmp_path}: cannot read the routes file: Is a directory",)


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    """Latin-1 bytes are reported with their position, not as a UnicodeDecodeError traceback."""
    path = tmp_path / "routes.yaml"
    path.write_bytes("routes:\n  - domain: b\xfccher.example\n".encode("latin-1"))
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    assert caught.value.errors == (
        f"{path}: the routes file is not UTF-8 text (byte 21 is not UTF-8)",
    )


def test_the_exception_text_is_every_error_on_its_own_line():
    """str(RoutesError) is what a log shows: all problems, one per line."""
    error = RoutesError(["a.yaml: one", "a.yaml: two"])
    assert (str(error), error.errors) == (
        "a.yaml: one\na.yaml: two",
        ("a.yaml: one", "a.yaml: two"),
    )


# --- validation ----------------------------------------------------------------------------


def test_every_error_is_reported_at_once_with_route_and_key():
    """One run of `check` lists every problem, route by route and each route's in the order of
    the text, naming the file, line and column, route and key."""
    path = FIXTURES / "many-errors.yaml"
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    assert [e.removeprefix(f"{path}:") for e in caught.value.errors] == [
        "3:5: route 1 (issues..example.com): the required key allowed_senders is missing",
        '3:13: route 1 (issues..example.com): domain "issues..example.com" is not a valid '
        "domain name",
        '4:11: route 1 (issues..example.com): repo "example-org" is not of the form owner/name '
        "(e.g. example-org/website)",
        "5:5: route 1 (issues..example.com): unknown key allowed_sender (did you mean "
        f"allowed_senders?); the known keys are {KNOWN_KEYS}",
        "9:22: route 2 (v@issues.example.com): allowed_senders is empty: list at least one "
        "sender domain",
        '10:5: route 3 (v1@issues.example.com): prefixes "v" and "v1" on one domain make '
        "addresses ambiguous with route 2 (v@issues.example.com): v12@issues.example.com could "
        "be issue 2 of route 3 or issue 12 of route 2",
        '12:11: route 3 (v1@issues.example.com): repo "example-org/site.git" ends in .git: '
        "write owner/name without it",
        '13:23: route 3 (v1@issues.example.com): allowed_senders entry "*" is not a sender '
        "domain: a lone * would let anyone post; write *.example.org for one domain's subdomains",
        '13:28: route 3 (v1@issues.example.com): allowed_senders entry "@example.com" is not a '
        "sender domain: list the domain only, e.g. example.com, not an address",
        '13:44: route 3 (v1@issues.example.com): allowed_senders entry "*example.com" is not a '
        "sender domain: a wildcard is written *.example.org and matches its subdomains only",
        '13:60: route 3 (v1@issues.example.com): allowed_senders entry "bob@example.com" is not '
        "a sender domain: list the domain only, e.g. example.com, not an address",
        '13:77: route 3 (v1@issues.example.com): allowed_senders entry "*.com" is not a sender '
        "domain: a wildcard must name a domain below a top-level domain, e.g. *.example.org",
        "15:13: route 4 (issues.example.com): prefix must be text, not the number 12 (put it in "
        "quotes)",
        '18:18: route 4 (issues.example.com): keep_quoted must be true or false, not "maybe"',
        '20:13: route 5 (a b@issues.example.com): prefix "a b" cannot start an address: use '
        "ASCII letters, digits and characters such as - _ . + (no spaces, no @, no leading or "
        "doubled dot)",
        '21:11: route 5 (a b@issues.example.com): repo "-org/app" is not of the form owner/name '
        "(e.g. example-org/website)",
        "23:5: route 6 (v@issues.example.com): same domain and prefix as route 2 "
        "(v@issues.example.com); merge them or give one a different prefix",
        '23:5: route 6 (v@issues.example.com): prefixes "v" and "v1" on one domain make '
        "addresses ambiguous with route 3 (v1@issues.example.com): v12@issues.example.com could "
        "be issue 2 of route 3 or issue 12 of route 6",
    ]


def test_the_briefs_example_message_is_produced_verbatim():
    """A repo without its owner is reported in the documented words."""
    text = "routes:\n" + ok(repo="o/a") + ok(prefix="web-", repo="example-org")
    assert errors_of(text) == [
        'routes.yaml:6:11: route 2 (web-@issues.example.com): repo "example-org" is not of the '
        "form owner/name (e.g. example-org/website)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "routes.yaml: the file is empty; it needs a routes key holding a list of routes"),
        (
            "# only a comment\n",
            "routes.yaml: the file is empty; it needs a routes key holding a list of routes",
        ),
        ("- a\n", "routes.yaml:1:1: the top level must be a mapping with a routes key, not a list"),
        (
            "routes\n",
            'routes.yaml:1:1: the top level must be a mapping with a routes key, not "routes"',
        ),
        ("routes: []\n", "routes.yaml:1:9: routes is empty: list at least one route"),
        ("routes:\n", "routes.yaml:1:8: routes must be a list, not empty"),
        ("routes: {}\n", "routes.yaml:1:9: routes must be a list, not a mapping"),
        (
            "routes:\n  - domain: a.example.com\n   repo: o/r\n",
            "routes.yaml:3:4: not valid YAML: expected <block end>, but found "
            "'<block mapping start>'",
        ),
        (
            "routes:\n  - domain: a.example.com\n\trepo: o/r\n",
            "routes.yaml:3:1: not valid YAML: found character '\\t' that cannot start any token",
        ),
        (
            "routes:\n  - domain: a.example.com\n    repo: o/r\n    repo: o/s\n"
            "    allowed_senders: [x.org]\n",
            'routes.yaml:4:5: not valid YAML: the key "repo" appears twice in one mapping',
        ),
        (
            "routes: []\nroutes: []\n",
            'routes.yaml:2:1: not valid YAML: the key "routes" appears twice in one mapping',
        ),
        (
            "routes:\n  - ? [a, b]\n    : x\n",
            "routes.yaml:2:7: not valid YAML: found unhashable key",
        ),
        (
            "routes: !!python/object/apply:os.system [true]\n",
            "routes.yaml:1:9: not valid YAML: could not determine a constructor "
            "for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        (
            "routes:\n  - example.com\n",
            'routes.yaml:2:5: route 1: the route must be a mapping, not "example.com"',
        ),
    ],
)
def test_file_level_errors(text, expected):
    """Empty files, wrong shapes, bad YAML, repeated keys and unsafe tags get one message each."""
    assert errors_of(text) == [expected]


def test_a_misspelt_top_level_key_is_named_with_a_suggestion():
    """`route:` instead of `routes:` says both what is missing and what was meant."""
    assert errors_of("route: []\n") == [
        "routes.yaml:1:1: the required key routes is missing",
        "routes.yaml:1:1: unknown key route (did you mean routes?); the known keys are defaults, "
        "routes (keys starting with x- are ignored: they hold YAML anchors)",
    ]


def test_several_missing_keys_are_named_in_one_message():
    """A route with only a domain lists both missing keys once, not one message per key."""
    assert errors_of("routes:\n" + route()) == [
        "routes.yaml:2:5: route 1 (issues.example.com): the required keys repo and "
        "allowed_senders are missing"
    ]


def test_unknown_keys_without_a_close_match_get_no_guess():
    """A key unlike any known key is listed without a misleading suggestion."""
    assert errors_of("routes:\n" + ok(colour="blue", Repo="o/x")) == [
        "routes.yaml:5:5: route 1 (issues.example.com): unknown keys Repo (did you mean repo?), "
        f"colour; the known keys are {KNOWN_KEYS}"
    ]


@pytest.mark.parametrize(
    ("keys", "written", "expected"),
    [
        (
            {"domain": "42"},
            "42",
            "route 1: domain must be text, not the number 42 (put it in quotes)",
        ),
        ({"repo": "[o/r]"}, "[o/r]", "route 1 (issues.example.com): repo must be text, not a list"),
        (
            {"allowed_senders": "example.org"},
            "example.org",
            'route 1 (issues.example.com): allowed_senders must be a list, not "example.org"',
        ),
        (
            {"allowed_senders": "[example.com, null, 5]"},
            "null",
            "route 1 (issues.example.com): allowed_senders[1] must be text, not empty",
        ),
        (
            {"keep_quoted": "'no'"},
            "'no'",
            'route 1 (issues.example.com): keep_quoted must be true or false, not "no"',
        ),
        (
            {"show_sender_address": "yes please"},
            "yes please",
            "route 1 (issues.example.com): show_sender_address must be true or false, "
            'not "yes please"',
        ),
        (
            {"name": "2024-01-01"},
            "2024-01-01",
            "route 1 (issues.example.com): name must be text, not the date 2024-01-01",
        ),
        ({"name": "''"}, "''", "route 1 (issues.example.com): name is empty"),
        ({"repo": "''"}, "''", "route 1 (issues.example.com): repo is empty"),
        (
            {"prefix": "p" * 55},
            "p" * 55,
            f"route 1 ({'p' * 55}@issues.example.com): prefix is too long: at most 54 characters",
        ),
    ],
)
def test_wrong_types_and_lengths_name_the_key(keys, written, expected):
    """Schema violations are translated into words naming the route and the key path, at the
    place of the wrong value."""
    text = "routes:\n" + (ok(**keys) if "domain" not in keys else ok(keys.pop("domain"), **keys))
    assert errors_of(text)[0] == f"routes.yaml:{at(text, written)}: {expected}"


def test_a_second_entry_of_the_wrong_type_is_reported_too():
    """Both bad list entries are reported, each by position."""
    assert errors_of("routes:\n" + ok(allowed_senders="[example.com, null, 5]")) == [
        "routes.yaml:4:36: route 1 (issues.example.com): allowed_senders[1] must be text, not "
        "empty",
        "routes.yaml:4:42: route 1 (issues.example.com): allowed_senders[2] must be text, not "
        "the number 5 (put it in quotes)",
    ]


def test_two_routes_for_the_same_domain_and_prefix_are_rejected():
    """A second route for web-@issues.example.com (in any case) is a conflict, not an override."""
    text = "routes:\n" + ok(prefix="web-", repo="o/a")
    text += ok("ISSUES.example.com.", prefix="WEB-", repo="o/b", allowed_senders="[x.org]")
    assert errors_of(text) == [
        "routes.yaml:6:5: route 2 (web-@issues.example.com): same domain and prefix as route 1 "
        "(web-@issues.example.com); merge them or give one a different prefix"
    ]


def test_conflicts_are_found_even_between_routes_with_other_errors():
    """A duplicate is reported alongside the other route's own error, not hidden by it."""
    text = "routes:\n" + ok(repo="o/a", keep_quoted="maybe") + ok(repo="o/b")
    assert errors_of(text) == [
        "routes.yaml:5:18: route 1 (issues.example.com): keep_quoted must be true or false, not "
        '"maybe"',
        "routes.yaml:6:5: route 2 (issues.example.com): same domain and prefix as route 1 "
        "(issues.example.com); merge them or give one a different prefix",
    ]


@pytest.mark.parametrize(
    ("shorter", "longer", "ambiguous"),
    [
        ("v", "v1", True),
        ("''", "'1'", True),
        ("''", "'42'", True),
        ("web-", "web-12", True),
        ("web-", "WEB-9", True),
        ("x", "x0", False),
        ("''", "'0'", False),
        ("'1'", "'10'", False),
        ("web-", "web-x-", False),
        ("web-", "web-1x", False),
        ("''", "web-", False),
        ("''", "v1", False),
        ("a", "b", False),
        ("web1", "web12", True),
    ],
)
def test_prefixes_that_make_an_address_ambiguous_are_rejected(shorter, longer, ambiguous):
    """P and P+X clash exactly when X could begin an issue number: digits not starting with 0."""
    for first, second in ((shorter, longer), (longer, shorter)):
        text = "routes:\n" + ok(prefix=first, repo="o/first") + ok(prefix=second, repo="o/second")
        if not ambiguous:
            assert len(parse_routes(text, "routes.yaml").routes) == 2
            continue
        [error] = errors_of(text)
        assert error.startswith("routes.yaml:6:5: route 2 (")
        assert "on one domain make addresses ambiguous with route 1 (" in error


def test_the_ambiguity_message_shows_an_address_read_two_ways():
    """The error gives a concrete address and both of its readings."""
    text = "routes:\n" + ok(repo="o/all") + ok(prefix="'1'", repo="o/one")
    assert errors_of(text) == [
        'routes.yaml:5:5: route 2 (1@issues.example.com): prefixes "" and "1" on one domain '
        "make addresses ambiguous with route 1 (issues.example.com): 12@issues.example.com could "
        "be issue 2 of route 2 or issue 12 of route 1"
    ]


def test_the_same_prefixes_on_different_domains_do_not_conflict():
    """Ambiguity and duplicates are judged per domain."""
    text = "routes:\n" + ok("a.example.com", prefix="v") + ok("b.example.com", prefix="v")
    assert len(parse_routes(text, "routes.yaml").routes) == 2


@pytest.mark.parametrize(
    ("prefix", "valid"),
    [
        ("web-", True),
        ("web.", True),
        ("web_", True),
        ("team+", True),
        ("a.b-", True),
        ("'1'", True),
        ("'a b'", False),
        ("'@web'", False),
        ("web@", False),
        (".web", False),
        ("a..b", False),
        ("'\"web\"'", False),
        ("wéb-", False),
        ("'web,'", False),
        ("'web<'", False),
    ],
)
def test_prefixes_must_be_able_to_start_an_unquoted_local_part(prefix, valid):
    """A prefix holds only dot-atom characters, never @, spaces, quotes or a leading dot."""
    text = "routes:\n" + ok(prefix=prefix)
    if valid:
        assert len(parse_routes(text, "routes.yaml").routes) == 1
        return
    [error] = errors_of(text)
    assert " cannot start an address: use ASCII letters, digits and characters such as" in error


@pytest.mark.parametrize(
    ("repo", "valid"),
    [
        ("example-org/website", True),
        ("a/b", True),
        ("Org-1/repo.name_x-y", True),
        ("o" * 39 + "/name", True),
        ("owner/" + "n" * 100, True),
        ("owner/.github", True),
        ("owner", False),
        ("owner/", False),
        ("/name", False),
        ("own er/name", False),
        ("owner/na me", False),
        ("owner/name/x", False),
        ("-owner/name", False),
        ("owner-/name", False),
        ("ow--ner/name", False),
        ("own_er/name", False),
        ("owner/..", False),
        ("owner/.", False),
        ("o" * 40 + "/name", False),
        ("owner/" + "n" * 101, False),
        ("https://github.com/owner/name", False),
    ],
)
def test_repositories_must_be_owner_slash_name_as_github_allows(repo, valid):
    """repo is owner/name with GitHub's character and length rules."""
    text = "routes:\n" + ok(repo=f"'{repo}'")
    if valid:
        assert parse_routes(text, "routes.yaml").routes[0].repo == repo
        return
    assert errors_of(text) == [
        f'routes.yaml:3:11: route 1 (issues.example.com): repo "{repo}" is not of the form '
        "owner/name (e.g. example-org/website)"
    ]


@pytest.mark.parametrize(
    ("domain", "hint"),
    [
        ("localhost", ""),
        ("a..example.com", ""),
        ("-a.example.com", ""),
        ("a_b.example.com", ""),
        ("x" * 64 + ".example.com", ""),
        ("'  '", ""),
        ("192.0.2.1", ": IP addresses are not accepted"),
        ("'[192.0.2.1]'", ": IP addresses are not accepted"),
        ("'[IPv6:2001:db8::1]'", ": IP addresses are not accepted"),
        ("issues@example.com", ": write the domain alone, e.g. issues.example.com"),
        ("https://issues.example.com/", ": write the domain alone, e.g. issues.example.com"),
    ],
)
def test_malformed_domains_are_rejected(domain, hint):
    """A recipient domain must be a host name with at least two labels, not an IP address."""
    [error] = errors_of("routes:\n" + ok(domain))
    written = domain.strip("'")
    assert error == (
        f'routes.yaml:2:13: route 1 ({written.strip().lower()}): domain "{written}" is not a '
        f"valid domain name{hint}"
    )


def test_a_trailing_dot_on_a_domain_is_accepted_and_dropped():
    """issues.example.com. is the same fully qualified name as issues.example.com."""
    assert parse_routes("routes:\n" + ok("issues.example.com."), "r").domains == (
        "issues.example.com",
    )


@pytest.mark.parametrize(
    ("entry", "hint"),
    [
        ("'*'", "a lone * would let anyone post; write *.example.org for one domain's subdomains"),
        ("'*example.com'", "a wildcard is written *.example.org and matches its subdomains only"),
        (
            "'*.*.example.com'",
            "a wildcard is written *.example.org and matches its subdomains only",
        ),
        ("'ex*.com'", "a wildcard is written *.example.org and matches its subdomains only"),
        ("'*.com'", "a wildcard must name a domain below a top-level domain, e.g. *.example.org"),
        ("'@example.com'", "list the domain only, e.g. example.com, not an address"),
        ("user@example.com", "list the domain only, e.g. example.com, not an address"),
        ("com", "expected a domain such as example.com or *.example.org"),
        ("'192.0.2.1'", "expected a domain such as example.com or *.example.org"),
        ("'exa mple.com'", "expected a domain such as example.com or *.example.org"),
    ],
)
def test_malformed_sender_entries_get_a_hint(entry, hint):
    """Only `domain` and `*.domain` are sender entries; each mistake says how to write it."""
    [error] = errors_of("routes:\n" + ok(allowed_senders=f"[{entry}]"))
    written = entry.strip("'")
    assert error == (
        f'routes.yaml:4:23: route 1 (issues.example.com): allowed_senders entry "{written}" is '
        f"not a sender domain: {hint}"
    )


# --- lookup --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("123@anomalies.unseen.ac.uk", (0, 123)),
        ("<123@Anomalies.Unseen.AC.UK>", (0, 123)),
        ("  <123@anomalies.unseen.ac.uk>  ", (0, 123)),
        ("123@anomalies.unseen.ac.uk.", (0, 123)),
        ("1@anomalies.unseen.ac.uk", (0, 1)),
        ("WEB-45@issues.example.com", (1, 45)),
        ("Docs-7@Issues.Example.Com", (2, 7)),
        ("2147483647@anomalies.unseen.ac.uk", (0, MAX_ISSUE_NUMBER)),
        ("2147483648@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("99999999999999999999@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("9" * 5000 + "@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("0@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("007@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("+7@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("-7@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("7.0@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("1_000@anomalies.unseen.ac.uk", "invalid-issue-number"),
        (" 7@anomalies.unseen.ac.uk", (0, 7)),
        ("7+reply@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("\uff17@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("\u0667@anomalies.unseen.ac.uk", "invalid-issue-number"),
        ("web-@issues.example.com", "invalid-issue-number"),
        ("web-4a@issues.example.com", "invalid-issue-number"),
        ("web45@issues.example.com", "invalid-issue-number"),
        ("45@issues.example.com", "invalid-issue-number"),
        ("help@issues.example.com", "invalid-issue-number"),
        ("123@unseen.ac.uk", "no-route"),
        ("123@sub.anomalies.unseen.ac.uk", "no-route"),
        ("123@anomalies.unseen.ac.uk.evil.net", "no-route"),
        ("123@", "invalid-address"),
        ("@anomalies.unseen.ac.uk", "invalid-address"),
        ("", "invalid-address"),
        ("no-at-sign", "invalid-address"),
        ('"12 3"@anomalies.unseen.ac.uk', "invalid-address"),
        ('"123"@anomalies.unseen.ac.uk', "invalid-address"),
        ("123@[192.0.2.1]", "invalid-address"),
        ("123@anomalies..unseen.ac.uk", "invalid-address"),
        ("a@b@anomalies.unseen.ac.uk", "invalid-issue-number"),
    ],
)
def test_lookup(address, expected):
    """<prefix><number>@domain, case-insensitive; anything else is refused with a reason."""
    found = SAMPLE.lookup(address)
    if isinstance(expected, tuple):
        index, issue = expected
        assert found == Target(SAMPLE.routes[index], issue)
    else:
        assert isinstance(found, Miss)
        assert found.reason == expected


@pytest.mark.parametrize(
    ("address", "detail"),
    [
        (
            "help@issues.example.com",
            '"help" is not <prefix><issue number> for issues.example.com '
            "(expected e.g. web-123 or docs-123 or web-new)",
        ),
        (
            "Web-x@Issues.Example.com",
            '"Web-x" is not <prefix><issue number> for issues.example.com '
            "(expected e.g. web-123 or docs-123 or web-new)",
        ),
        (
            "7+reply@anomalies.unseen.ac.uk",
            '"7+reply" is not <prefix><issue number> for anomalies.unseen.ac.uk '
            "(expected e.g. 123): +tag subaddresses are not accepted",
        ),
        (
            "web-007@issues.example.com",
            '"web-007" is not <prefix><issue number> for issues.example.com '
            "(expected e.g. web-123 or docs-123 or web-new): an issue number has no leading zero",
        ),
        (
            "00@anomalies.unseen.ac.uk",
            '"00" is not <prefix><issue number> for anomalies.unseen.ac.uk '
            "(expected e.g. 123): issue numbers start at 1",
        ),
        (
            "2147483648@anomalies.unseen.ac.uk",
            '"2147483648" is not <prefix><issue number> for anomalies.unseen.ac.uk '
            "(expected e.g. 123): issue numbers stop at 2147483647",
        ),
        ("1@other.example.net", "no route for the domain other.example.net"),
        ("1@Other.Example.NET.", "no route for the domain other.example.net"),
        ("<issues.example.com>", '"issues.example.com" is not a plain mailbox address'),
        (
            '"a@b"@issues.example.com',
            '"\\"a@b\\"@issues.example.com" is not a plain mailbox address',
        ),
        ("1@[192.0.2.1]", '"[192.0.2.1]" is not a valid domain'),
    ],
)
def test_miss_details_tell_the_sender_what_was_wrong(address, detail):
    """Each refusal's detail names the address as written and the form expected."""
    found = SAMPLE.lookup(address)
    assert isinstance(found, Miss)
    assert found.detail == detail


def test_longest_prefix_wins():
    """With prefixes "", "web-" and "web-x-" on one domain, each address goes to its own."""
    routes = parse_routes(
        "routes:\n"
        + ok(repo="o/all")
        + ok(prefix="web-x-", repo="o/webx")
        + ok(prefix="web-", repo="o/web"),
        "r.yaml",
    )
    found = [
        routes.lookup(f"{local}@issues.example.com")
        for local in ("5", "web-5", "web-x-5", "WEB-X-5")
    ]
    assert [(t.route.repo, t.issue) for t in found if isinstance(t, Target)] == [
        ("o/all", 5),
        ("o/web", 5),
        ("o/webx", 5),
        ("o/webx", 5),
    ]


def test_a_longer_prefix_with_a_bad_number_does_not_fall_back_to_a_shorter_one():
    """web-x-abc is refused rather than read through the shorter web- prefix."""
    routes = parse_routes(
        "routes:\n" + ok(prefix="web-", repo="o/web") + ok(prefix="web-x", repo="o/x"), "r"
    )
    found = routes.lookup("web-x@issues.example.com")
    assert isinstance(found, Miss)
    assert found.reason == "invalid-issue-number"


def test_prefix_ending_in_a_digit_reads_the_number_after_it():
    """With only prefix v1, v15 is issue 5 and v1 alone is no issue."""
    routes = parse_routes("routes:\n" + ok(prefix="v1"), "r")
    assert routes.lookup("v15@issues.example.com") == Target(routes.routes[0], 5)
    assert isinstance(routes.lookup("v1@issues.example.com"), Miss)


def test_routes_built_by_hand_look_up_the_same_way():
    """Routes is a plain value: built directly it behaves like a parsed file."""
    web = Route(0, "issues.example.com", "web-", "o/web", ("example.com",))
    routes = Routes((web,), "inline")
    assert routes.lookup("web-3@issues.example.com") == Target(web, 3)
    assert routes.domains == ("issues.example.com",)


# --- senders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "allowed"),
    [
        ("example.com", True),
        ("EXAMPLE.com.", True),
        (" example.com ", True),
        ("www.example.com", False),
        ("evilexample.com", False),
        ("example.com.evil.net", False),
        ("example.co", False),
        ("lab.example.org", True),
        ("sub.sub.example.org", True),
        ("LAB.Example.ORG", True),
        ("example.org", False),
        ("evil-example.org", False),
        ("evilexample.org", False),
        ("xexample.org", False),
        ("example.org.evil.net", False),
        ("lab.example.org.evil.net", False),
        ("", False),
        ("*.example.org", False),
        ("[192.0.2.1]", False),
        ("192.0.2.1", False),
    ],
)
def test_sender_allowed(sender, allowed):
    """example.com is exact; *.example.org is any subdomain only; never a bare suffix."""
    assert SAMPLE.routes[1].allowed_senders == ("example.com", "*.example.org")
    assert sender_allowed(SAMPLE.routes[1], sender) is allowed


def test_listing_a_domain_and_its_wildcard_allows_both():
    """example.org plus *.example.org admits the domain and every subdomain."""
    [both] = parse_routes(
        "routes:\n" + ok(allowed_senders="[example.org, '*.example.org']"), "r"
    ).routes
    assert [sender_allowed(both, d) for d in ("example.org", "a.example.org", "example.com")] == [
        True,
        True,
        False,
    ]


# --- defaults and x- keys --------------------------------------------------------------------

SHARED = """\
x-staff: &staff [example.com, "*.example.org"]
x-quiet: &quiet {notify: false, keep_quoted: false}
defaults:
  allowed_senders: *staff
  max_age: 36h
  labels: [from-email]
routes:
  - domain: issues.example.com
    prefix: web-
    repo: example-org/website
    new_issue_address: new
  - domain: issues.example.com
    prefix: docs-
    repo: example-org/docs
    allowed_senders: [example.com]
    new_issue_address: new
    labels: [docs]
  - <<: *quiet
    domain: anomalies.unseen.ac.uk
    repo: unseen-lab/anomaly-tracker
    max_age: 7d
    new_issue_address: open
"""


def test_every_route_takes_the_defaults_it_does_not_give_itself():
    """defaults fill in the keys a route leaves out; a route's own value wins, a list whole."""
    web, docs, anomalies = parse_routes(SHARED, "routes.yaml").routes
    assert web == Route(
        0,
        "issues.example.com",
        "web-",
        "example-org/website",
        ("example.com", "*.example.org"),
        new_issue_address="web-new",
        labels=("from-email",),
        max_age=36 * 3600,
    )
    # Lists are replaced, not joined: docs lists example.com alone, and its own label.
    assert (docs.allowed_senders, docs.labels, docs.max_age) == (
        ("example.com",),
        ("docs",),
        36 * 3600,
    )
    # A YAML merge key and defaults together: the route's own keys, then the merged ones, then
    # the defaults.
    assert (
        anomalies.allowed_senders,
        anomalies.keep_quoted,
        anomalies.max_age,
        anomalies.notify,
    ) == (("example.com", "*.example.org"), False, 7 * 86400, False)


def test_x_keys_are_ignored_and_left_out_of_the_package(tmp_path):
    """Top-level x- keys only hold anchors: routes.json holds the routes they made, defaults
    merged as check merges them, and neither the anchors nor their keys."""
    path = tmp_path / "routes.json"
    path.write_text(routes_json(SHARED, "routes.yaml"))
    assert "x-staff" not in path.read_text()
    assert load_routes(path).routes == parse_routes(SHARED, "routes.yaml").routes


def test_a_wrong_default_is_reported_once_where_it_is_written():
    """A default every route takes is one mistake, reported at the default, not per route."""
    text = (
        "defaults:\n"
        "  allowed_senders: [example.com, '*']\n"
        "  keep_quoted: maybe\n"
        "  max_age: 5m\n"
        "routes:\n" + route(repo="o/a") + route(prefix="b-", repo="o/b") + ok(prefix="c-")
    )
    assert errors_of(text) == [
        'routes.yaml:2:34: defaults: allowed_senders entry "*" is not a sender domain: a lone * '
        "would let anyone post; write *.example.org for one domain's subdomains",
        'routes.yaml:3:16: defaults: keep_quoted must be true or false, not "maybe"',
        'routes.yaml:4:12: defaults: max_age "5m" is not a duration: write a whole number of '
        "hours or days, e.g. 36h or 7d",
    ]


def test_a_route_with_its_own_wrong_value_is_reported_at_the_route():
    """A route that overrides a default is judged by its own value, at its own place."""
    text = "defaults:\n  max_age: 5m\nroutes:\n" + ok(max_age="1w")
    assert errors_of(text) == [
        'routes.yaml:2:12: defaults: max_age "5m" is not a duration: write a whole number of '
        "hours or days, e.g. 36h or 7d",
        'routes.yaml:7:14: route 1 (issues.example.com): max_age "1w" is not a duration: write '
        "a whole number of hours or days, e.g. 36h or 7d",
    ]


def test_keys_wrong_together_are_the_routes_problem():
    """labels from defaults on a route without new_issue_address: the route is told, at its
    place, since a route with new_issue_address takes the same default rightly."""
    text = (
        "defaults:\n  labels: [from-email]\nroutes:\n"
        + ok(new_issue_address="new")
        + ok(prefix="x-", repo="o/x")
    )
    assert errors_of(text) == [
        "routes.yaml:8:5: route 2 (x-@issues.example.com): labels apply to issues opened by "
        "mail: set new_issue_address too"
    ]


def test_a_required_key_may_come_from_defaults():
    """allowed_senders in defaults satisfies every route; a route without one anywhere is told."""
    assert parse_routes(
        "defaults: {allowed_senders: [example.com]}\nroutes:\n" + route(repo="o/r"), "r"
    ).routes[0].allowed_senders == ("example.com",)
    assert errors_of("defaults: {keep_quoted: false}\nroutes:\n" + route(repo="o/r")) == [
        "routes.yaml:3:5: route 1 (issues.example.com): the required key allowed_senders is missing"
    ]


def test_keys_that_name_a_route_cannot_be_defaults():
    """domain, prefix, repo, name and new_issue_address are each route's own."""
    text = "defaults:\n  repo: o/r\n  name: x\n  colour: red\nroutes:\n" + ok()
    assert errors_of(text) == [
        "routes.yaml:2:3: defaults: repo and name cannot be a default: each route gives its own "
        "domain, prefix, repo, name and new_issue_address",
        "routes.yaml:4:3: defaults: unknown key colour; the known keys are allow_bcc, "
        "allowed_senders, api_url, attachments, cc_participants, confirm, contact, github_app, "
        "keep_quoted, labels, max_age, notices, notify, notify_participants, "
        "show_sender_address, token_secret",
    ]


def test_an_unknown_key_in_defaults_is_not_reported_again_for_each_route():
    """A route is blamed only for the unknown keys it gives itself."""
    text = "defaults:\n  colour: red\nroutes:\n" + ok(size="9")
    assert errors_of(text) == [
        "routes.yaml:2:3: defaults: unknown key colour; the known keys are allow_bcc, "
        "allowed_senders, api_url, attachments, cc_participants, confirm, contact, github_app, "
        "keep_quoted, labels, max_age, notices, notify, notify_participants, "
        "show_sender_address, token_secret",
        f"routes.yaml:7:5: route 1 (issues.example.com): unknown key size; the known keys are "
        f"{KNOWN_KEYS}",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("defaults: []\nroutes: []\n", "routes.yaml:1:11: defaults must be a mapping, not a list"),
        ("defaults:\nroutes: []\n", "routes.yaml:1:10: defaults must be a mapping, not empty"),
        (
            "x_staff: [a.org]\nroutes: []\n",
            "routes.yaml:1:1: unknown key x_staff; the known keys are defaults, routes (keys "
            "starting with x- are ignored: they hold YAML anchors)",
        ),
    ],
)
def test_defaults_and_anchor_keys_of_the_wrong_shape(text, expected):
    """defaults is a mapping; only keys starting with x- are free for anchors."""
    assert errors_of(text)[0] == expected


def test_the_published_schema_lets_defaults_hold_every_shared_route_key():
    """routes.schema.json (for editors) declares defaults as validation derives it: every route
    key but those that name a route."""
    published = json.loads(
        (ROOT / "handler" / "routing" / "routes.schema.json").read_text(encoding="utf-8")
    )
    assert published["$defs"]["defaults"] == validation.shared_keys_schema(published)
    assert set(published["$defs"]["defaults"]["properties"]) == set(
        published["$defs"]["route"]["properties"]
    ) - {"domain", "prefix", "repo", "name", "new_issue_address"}


# --- check's exit status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "status", "err"),
    [
        (
            b"routes:\n  - domain: issues.example.com\n    repo: o/r\n"
            b"    allowed_senders: [example.com]\n",
            0,
            "",
        ),
        (b"routes:\n  - domain: a.example.com\n   repo: o/r\n", 1, "{path}:3:4: not valid YAML"),
        (b"routes: []\n", 1, "{path}:1:9: routes is empty: list at least one route"),
        (b"routes:\n  - domain: b\xfccher.example\n", 2, "{path}: the routes file is not UTF-8"),
    ],
)
def test_check_exits_0_valid_1_invalid_2_unreadable(tmp_path, capsys, content, status, err):
    """An invalid file (bad YAML included) exits 1; one that cannot be read or decoded, 2."""
    from handler.cli import main  # noqa: PLC0415 - the CLI only here

    path = tmp_path / "routes.yaml"
    path.write_bytes(content)
    assert main(["check", str(path)]) == status
    written = capsys.readouterr().err
    assert written.startswith(err.format(path=path))
    assert written.count("\n") == (0 if status == 0 else 1)


def test_a_missing_file_or_a_directory_is_unreadable(tmp_path):
    """RoutesUnreadable (exit 2) for what cannot be read at all."""
    for path in (tmp_path / "absent.yaml", tmp_path):
        with pytest.raises(RoutesUnreadable):
            load_routes(path)


# --- large files -------------------------------------------------------------------------------


def _shared_routes(count: int) -> str:
    """``count`` routes that take their senders from defaults, every one with a wrong repo."""
    lines = ["x-senders: &senders [example.com, '*.example.ac.uk']", "defaults:"]
    lines += ["  allowed_senders: *senders", "  max_age: 36h", "routes:"]
    for n in range(count):
        lines += [f"  - domain: issues.project{n}.example.org", f"    repo: org{n}"]
    return "\n".join(lines) + "\n"


def test_errors_in_a_large_file_with_defaults_are_found_in_linear_time():
    """Merging defaults and placing every error cost the same per route however many routes."""

    def invalid(size: int) -> None:
        with pytest.raises(RoutesError):
            parse_routes(_shared_routes(size), "routes.yaml")

    assert growth(invalid, 250) < MAX_GROWTH


def test_a_large_file_with_defaults_validates_in_linear_time():
    """10,000 routes sharing defaults: validation stays linear."""
    valid = _shared_routes(10).replace("    repo: org", "    repo: org/r")
    assert len(parse_routes(valid, "r").routes) == 10
    assert (
        growth(
            lambda size: parse_routes(
                _shared_routes(size).replace("    repo: org", "    repo: org/r"), "r"
            ),
            1250,
        )
        < MAX_GROWTH
    )


# --- the packaged JSON form, the two validators, large files -----------------------------------


def test_the_json_form_loads_as_the_yaml_it_was_made_from(tmp_path):
    """routes_json resolves anchors and merges; the JSON file loads to the same routes."""
    text = (FIXTURES / "anchors.yaml").read_text()
    path = tmp_path / "routes.json"
    path.write_text(routes_json(text, "anchors.yaml"))
    from_json = load_routes(path)
    assert from_json.routes == load_routes(FIXTURES / "anchors.yaml").routes
    assert from_json.source == str(path)
    assert "<<" not in path.read_text()


def test_routes_json_refuses_an_invalid_file():
    """Only a valid file is converted: the errors are the ones check prints."""
    with pytest.raises(RoutesError) as caught:
        routes_json("routes:\n" + ok(repo="nope"), "routes.yaml")
    assert caught.value.errors == (
        'routes.yaml:3:11: route 1 (issues.example.com): repo "nope" is not of the form '
        "owner/name (e.g. example-org/website)",
    )


_PACKAGED = "routes.json of this version's `make package`"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # What routes.json held before it was indexed: valid routes, but not this format.
        ('{"routes": []}', f"r.json: not a {_PACKAGED}"),
        ('{"format": "ticket-router routes 0", "sha256": ""', f"r.json: not a {_PACKAGED}"),
        ("[]", f"r.json: not a {_PACKAGED}"),
        ("", f"r.json: not a {_PACKAGED}"),
    ],
)
def test_a_json_routes_file_not_made_by_package_is_refused(tmp_path, text, expected):
    """The functions trust routes.json unvalidated only in the format routes_json writes."""
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    (error,) = caught.value.errors
    assert error.replace(str(tmp_path) + "/", "").startswith(expected)


def test_a_changed_routes_json_is_refused(tmp_path):
    """An edit to the packaged routes (a repository swapped by hand) fails its digest: the
    edited file was never validated."""
    path = tmp_path / "routes.json"
    path.write_text(routes_json(SHARED, "routes.yaml").replace("example-org/docs", "evil/docs"))
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    assert caught.value.errors == (
        f"{path}: changed since `make package` wrote it (its SHA-256 differs): edit the "
        "routes.yaml and package it again",
    )


def test_routes_json_loads_without_validation(tmp_path, monkeypatch):
    """Loading routes.json imports none of the validation (nor fastjsonschema) and decodes only
    the domains looked up."""
    path = tmp_path / "routes.json"
    path.write_text(routes_json(SHARED, "routes.yaml"))
    for name in ("handler.routing.validate", "handler.routing.checks", "fastjsonschema"):
        monkeypatch.setitem(sys.modules, name, None)
    routes = load_routes(path)
    assert routes.domains == ("issues.example.com", "anomalies.unseen.ac.uk")
    assert isinstance(routes.lookup("web-7@issues.example.com"), Target)
    assert list(routes._by_domain) == ["issues.example.com"]


def test_routes_json_keeps_every_key_of_a_route(tmp_path):
    """Credentials, notices, labels and every flag come back from routes.json as validated."""
    text = (
        "routes:\n"
        + ok(
            prefix="a-",
            token_secret="ticket-router/web-token",
            notices="{no-route: 'Write to {addresses}'}",
            contact="help@example.org",
            labels="[mail, triage]",
            new_issue_address="new",
            show_sender_address="true",
            notify="false",
            confirm="true",
            allow_bcc="true",
            max_age="2d",
            name="Émile's",
        )
        + ok(prefix="b-", github_app=APP, api_url="https://ghe.example.com/api/v3")
    )
    path = tmp_path / "routes.json"
    path.write_text(routes_json(text, "routes.yaml"))
    parsed = parse_routes(text, "routes.yaml")
    assert load_routes(path) == Routes(parsed.routes, str(path))
    assert parsed.routes[0].notices
    assert isinstance(parsed.routes[1].credential, GitHubApp)


def test_without_jsonschema_the_first_schema_error_is_reported(monkeypatch):
    """In the Lambda package (no jsonschema) an invalid file still fails with a specific error."""
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    validation._validator.cache_clear()
    try:
        errors = errors_of("routes:\n" + route(repo="o/r"))
    finally:
        validation._validator.cache_clear()
    assert errors == [
        "routes.yaml: routes[0] must contain ['allowed_senders'] properties "
        "(`ticket-router check` lists every error)"
    ]


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
_ROUTE_KEYS = st.sampled_from(
    [*KNOWN_KEYS.split(", "), "domian", "routes"]  # every key, a misspelt one, a stray one
)
_ROUTE = st.dictionaries(
    _ROUTE_KEYS,
    _JSON_VALUES | st.just("x") | st.just("") | st.lists(st.just("example.com"), max_size=2),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.dictionaries(st.just("routes"), st.lists(_ROUTE, max_size=3)),
        st.dictionaries(
            st.sampled_from(["routes", "rotues", "defaults", "x-anchor"]), _JSON_VALUES, max_size=3
        ),
        st.fixed_dictionaries({"defaults": _ROUTE, "routes": st.lists(_ROUTE, max_size=2)}),
    )
)
def test_the_fast_validator_agrees_with_jsonschema(document):
    """fastjsonschema (every load) and jsonschema (the worded errors) accept the same files."""
    try:
        validation._fast_validator()(document)
        fast = True
    except fastjsonschema.JsonSchemaValueException:
        fast = False
    assert fast == validation._validator().is_valid(document)


def test_a_third_copy_of_a_route_is_reported_against_the_first():
    text = "routes:\n" + ok(repo="o/a") + ok(repo="o/b") + ok(repo="o/c")
    assert errors_of(text) == [
        "routes.yaml:5:5: route 2 (issues.example.com): same domain and prefix as route 1 "
        "(issues.example.com); merge them or give one a different prefix",
        "routes.yaml:8:5: route 3 (issues.example.com): same domain and prefix as route 1 "
        "(issues.example.com); merge them or give one a different prefix",
    ]


def test_ambiguity_is_found_in_either_order_and_across_many_prefixes():
    """A longer prefix listed first, a shorter one after: reported on the later route."""
    text = "routes:\n" + ok(prefix="web-12", repo="o/a") + ok(prefix="web-", repo="o/b")
    text += "".join(ok(prefix=f"p{n}x", repo=f"o/r{n}") for n in range(50))
    text += ok(prefix="web-1", repo="o/c") + ok(prefix="web-10", repo="o/d")
    assert errors_of(text) == [
        'routes.yaml:6:5: route 2 (web-@issues.example.com): prefixes "web-" and "web-12" on '
        "one domain make addresses ambiguous with route 1 (web-12@issues.example.com): "
        "web-122@issues.example.com could be issue 2 of route 1 or issue 122 of route 2",
        'routes.yaml:210:5: route 53 (web-1@issues.example.com): prefixes "web-1" and "web-12" '
        "on one domain make addresses ambiguous with route 1 (web-12@issues.example.com): "
        "web-122@issues.example.com could be issue 2 of route 1 or issue 22 of route 53",
        'routes.yaml:210:5: route 53 (web-1@issues.example.com): prefixes "web-" and "web-1" on '
        "one domain make addresses ambiguous with route 2 (web-@issues.example.com): "
        "web-12@issues.example.com could be issue 2 of route 53 or issue 12 of route 2",
        'routes.yaml:214:5: route 54 (web-10@issues.example.com): prefixes "web-" and "web-10" '
        "on one domain make addresses ambiguous with route 2 (web-@issues.example.com): "
        "web-102@issues.example.com could be issue 2 of route 54 or issue 102 of route 2",
    ]


def test_lookup_among_many_prefixes_of_one_domain_takes_the_longest():
    """Thousands of routes: the index finds the longest prefix, as the rule says."""
    text = "routes:\n" + "".join(ok(prefix=f"team{n}-", repo=f"o/r{n}") for n in range(2000))
    text += ok(prefix="team1-x-", repo="o/x") + ok(repo="o/plain")
    routes = parse_routes(text, "routes.yaml")
    assert _target(routes.lookup("team1-x-5@issues.example.com")) == ("o/x", 5)
    assert _target(routes.lookup("team1999-77@issues.example.com")) == ("o/r1999", 77)
    assert _target(routes.lookup("42@issues.example.com")) == ("o/plain", 42)
    miss = routes.lookup("team1-y-5@issues.example.com")
    assert isinstance(miss, Miss)
    assert miss.reason == "invalid-issue-number"


def _target(found: Target | Miss) -> tuple[str, int]:
    assert isinstance(found, Target), found
    return found.route.repo, found.issue


# --- new issues by mail, credentials, api_url -----------------------------------------------


def test_new_issue_keys_are_read():
    """new_issue_address joins the prefix, lowercased; labels keep their case, trimmed."""
    [web] = parse_routes(
        "routes:\n"
        + ok(prefix="Web-", new_issue_address=" New ", labels='[" from-mail ", Triage]'),
        "r",
    ).routes
    assert (web.new_issue_address, web.labels) == ("web-new", ("from-mail", "Triage"))


def test_the_new_issue_address_opens_and_the_numbers_still_comment():
    routes = parse_routes(
        "routes:\n"
        + ok(prefix="web-", new_issue_address="new", repo="o/web")
        + ok(new_issue_address="open", repo="o/app"),
        "r",
    )
    web, app = routes.routes
    assert routes.lookup("WEB-NEW@Issues.Example.COM") == NewIssue(web)
    assert routes.lookup("open@issues.example.com") == NewIssue(app)
    assert routes.lookup("web-45@issues.example.com") == Target(web, 45)
    assert routes.lookup("45@issues.example.com") == Target(app, 45)
    assert routes.lookup("web-news@issues.example.com") == Miss(
        "invalid-issue-number",
        '"web-news" is not <prefix><issue number> for issues.example.com '
        "(expected e.g. web-123 or 123 or web-new or open)",
    )


def test_routes_without_new_issue_address_open_nothing():
    [plain] = parse_routes("routes:\n" + ok(), "r").routes
    assert (plain.new_issue_address, plain.labels, plain.credential, plain.api_url) == (
        None,
        (),
        None,
        None,
    )


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        (
            {"new_issue_address": '"12"'},
            'new_issue_address "12" is an issue number: 12@ already names an issue; use a word '
            "such as new",
        ),
        (
            {"new_issue_address": '"new issue"'},
            'new_issue_address "new issue" cannot end an address\'s local part: use ASCII letters, '
            "digits and characters such as - _ . + (no spaces, no @, no leading, trailing or "
            "doubled dot)",
        ),
        (
            {"new_issue_address": "new."},
            'new_issue_address "new." cannot end an address\'s local part: use ASCII letters, '
            "digits and characters such as - _ . + (no spaces, no @, no leading, trailing or "
            "doubled dot)",
        ),
        (
            {"prefix": "p" * 54, "new_issue_address": "new-issue-please"},
            'new_issue_address "new-issue-please" makes the local part '
            f'"{"p" * 54}new-issue-please" longer than the 64 characters an address allows',
        ),
        ({"new_issue_address": '""'}, "new_issue_address is empty"),
        (
            {"new_issue_address": "[new]"},
            "new_issue_address must be text, not a list",
        ),
        (
            {"labels": "[bug]"},
            "labels apply to issues opened by mail: set new_issue_address too",
        ),
        (
            {"new_issue_address": "new", "labels": "[]"},
            "labels is empty: list at least one label, or leave labels out",
        ),
        (
            {"new_issue_address": "new", "labels": "[Bug, bug]"},
            'labels lists "bug" twice (label names ignore case)',
        ),
        (
            {"new_issue_address": "new", "labels": '["  "]'},
            'labels entry "  " is blank',
        ),
        (
            {"new_issue_address": "new", "labels": f"[{'x' * 51}]"},
            "labels[0] is too long: at most 50 characters",
        ),
        (
            {"new_issue_address": "new", "labels": "[7]"},
            "labels[0] must be text, not the number 7 (put it in quotes)",
        ),
    ],
)
def test_new_issue_keys_are_validated(keys: dict[str, str], error: str):
    """Each problem is reported at the key it is about; labels without new_issue_address at the
    route, whose keys are wrong together."""
    text = "routes:\n" + ok(**keys)
    where = f"{keys['prefix']}@issues.example.com" if "prefix" in keys else "issues.example.com"
    about = error.partition(" ")[0].partition("[")[0]
    if error.startswith("labels apply"):
        place = ROUTE_1
    elif error.startswith(("labels lists", "labels[0]")):
        place = at(text, keys["labels"].split(",")[-1].strip(" []"))
    elif error.startswith("labels entry"):
        place = at(text, '"  "')
    else:
        place = at(text, keys[about])
    assert errors_of(text) == [f"routes.yaml:{place}: route 1 ({where}): {error}"]


def test_two_routes_cannot_share_a_new_issue_address():
    text = (
        "routes:\n"
        + ok(prefix="web-", new_issue_address="new")
        + ok(new_issue_address="web-new", repo="o/other")
    )
    assert errors_of(text) == [
        "routes.yaml:7:5: route 2 (issues.example.com): new-issue address "
        "web-new@issues.example.com is also route 1 (web-@issues.example.com)'s"
    ]


def test_a_new_issue_address_may_not_read_as_another_routes_issue():
    """With routes "" and "new", "new5" would be issue 5 of one and the new-issue address of
    the other: refused, whichever comes first."""
    text = "routes:\n" + ok(new_issue_address="new5") + ok(prefix="new", repo="o/other")
    assert errors_of(text) == [
        "routes.yaml:2:5: route 1 (issues.example.com): new-issue address new5@issues.example.com "
        "is also the address of issue 5 of route 2 (new@issues.example.com); choose a word that "
        "does not end in digits"
    ]
    assert parse_routes("routes:\n" + ok(new_issue_address="new05") + ok(prefix="new"), "r")


def test_credentials_are_read():
    token, app, client = parse_routes(
        "routes:\n"
        + ok(prefix="a-", token_secret=" ticket-router/web-token ")
        + ok(
            prefix="b-",
            github_app="{app_id: 123456, installation_id: 42, private_key_secret: "
            "'arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf'}",
            api_url="https://github.example.com/api/v3/",
        )
        + ok(
            prefix="c-",
            github_app="{client_id: Iv23liAbCdEf01234567, installation_id: 7, "
            "private_key_secret: app-key}",
        ),
        "r",
    ).routes
    assert token.credential == TokenSecret("ticket-router/web-token")
    assert app.credential == GitHubApp(
        "123456", 42, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf"
    )
    assert app.api_url == "https://github.example.com/api/v3"
    assert client.credential == GitHubApp("Iv23liAbCdEf01234567", 7, "app-key")


APP = "{app_id: 1, installation_id: 2, private_key_secret: key}"


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        (
            {"token_secret": '"my token"'},
            'token_secret "my token" is not a Secrets Manager secret name (letters, digits and '
            "/_+=.@- only) or ARN",
        ),
        (
            {"token_secret": "arn:aws:s3:::bucket"},
            'token_secret "arn:aws:s3:::bucket" is not a Secrets Manager secret ARN '
            "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)",
        ),
        ({"token_secret": '""'}, "token_secret is empty"),
        (
            {"token_secret": "t", "github_app": APP},
            "name token_secret or github_app, not both: a route posts with one credential",
        ),
        (
            {"github_app": "{installation_id: 2, private_key_secret: key}"},
            "github_app needs app_id or client_id (both are on the app's settings page; GitHub "
            "recommends the client id)",
        ),
        (
            {
                "github_app": "{app_id: 1, client_id: Iv1.x, installation_id: 2, "
                "private_key_secret: key}"
            },
            "github_app names both app_id and client_id: give one of them",
        ),
        (
            {"github_app": "{client_id: 'Iv1 x', installation_id: 2, private_key_secret: key}"},
            'github_app.client_id "Iv1 x" is not a GitHub App client id (letters, digits and '
            "dots, e.g. Iv23liAbCdEf01234567)",
        ),
        (
            {"github_app": "{app_id: 1, private_key_secret: key}"},
            "github_app: the required key installation_id is missing",
        ),
        (
            {"github_app": "{app_id: 1, installation_id: 0, private_key_secret: key}"},
            "github_app.installation_id must be at least 1, not the number 0",
        ),
        (
            {"github_app": "{app_id: '1', installation_id: 2, private_key_secret: key}"},
            'github_app.app_id must be a whole number, not "1"',
        ),
        (
            {"github_app": "{app_id: 1, installation_id: 2, private_key_secret: 'a key'}"},
            'github_app.private_key_secret "a key" is not a Secrets Manager secret name '
            "(letters, digits and /_+=.@- only) or ARN",
        ),
        (
            {"github_app": "{app_id: 1, installation_id: 2, private_key_secret: k, key: x}"},
            "github_app: unknown key key; the known keys are app_id, client_id, "
            "installation_id, private_key_secret",
        ),
    ],
)
def test_credentials_are_validated(keys: dict[str, str], error: str):
    """Each problem is reported at the value it is about, within github_app too; both
    credentials at once at the route."""
    text = "routes:\n" + ok(**keys)
    subject = error.split(" ", maxsplit=1)[0].rstrip(":")
    if subject == "name":
        place = ROUTE_1
    elif subject in {"github_app.client_id", "github_app.private_key_secret"}:
        place = at(text, "'" + error.split('"')[1] + "'")
    elif subject == "github_app.installation_id":
        place = at(text, "0,")
    elif subject == "github_app.app_id":
        place = at(text, "'1'")
    else:
        place = at(text, keys[subject])
    assert errors_of(text) == [f"routes.yaml:{place}: route 1 (issues.example.com): {error}"]


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "ftp://github.example.com/api/v3",
            'api_url "ftp://github.example.com/api/v3" is not an https:// URL (e.g. '
            "https://github.example.com/api/v3)",
        ),
        (
            "https://:443/api/v3",
            'api_url "https://:443/api/v3" is not an https:// URL (e.g. '
            "https://github.example.com/api/v3)",
        ),
        (
            "https://github.example.com:x/api/v3",
            'api_url "https://github.example.com:x/api/v3" is not an https:// URL (e.g. '
            "https://github.example.com/api/v3)",
        ),
        (
            "http://github.example.com/api/v3",
            'api_url "http://github.example.com/api/v3" must use https: the token would cross '
            "the network in clear",
        ),
        (
            "https://me:pw@github.example.com/api/v3",
            'api_url "https://me:pw@github.example.com/api/v3" holds credentials: name them '
            "with token_secret or github_app",
        ),
        (
            "https://github.example.com/api/v3?x=1",
            'api_url "https://github.example.com/api/v3?x=1" has a query or fragment: give the '
            "API's base URL only",
        ),
        (
            "https://github.com",
            'api_url "https://github.com" is github.com\'s web site: its API is '
            "https://api.github.com, the default (leave api_url out)",
        ),
        (
            "https://github.example.com/",
            'api_url "https://github.example.com/" lacks the API\'s path: GitHub Enterprise '
            "Server's REST API is at https://github.example.com/api/v3",
        ),
    ],
)
def test_api_url_is_validated(url: str, error: str):
    written = f'"{url}"'
    text = "routes:\n" + ok(api_url=written, token_secret="t")
    assert errors_of(text) == [
        f"routes.yaml:{at(text, written)}: route 1 (issues.example.com): {error}"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://github.example.com/api/v3",
        "https://api.example.ghe.com",
        "http://127.0.0.1:8080/api/v3",
        "http://localhost/api/v3",
    ],
)
def test_api_urls_that_are_accepted(url: str):
    [only] = parse_routes("routes:\n" + ok(api_url=f'"{url}"', token_secret="t"), "r").routes
    assert only.api_url == url


def test_api_url_needs_the_routes_own_credential():
    """Else the deployment's token would go to whatever host the route names."""
    assert errors_of("routes:\n" + ok(api_url="https://ghe.example.com/api/v3")) == [
        "routes.yaml:2:5: route 1 (issues.example.com): api_url needs the route's own "
        "credential (token_secret or github_app): the deployment's token is for GITHUB_API_URL "
        "and is never sent to another host"
    ]


def test_an_error_brought_by_a_merge_key_is_placed_where_the_anchor_wrote_it():
    """A value a route takes through <<: *anchor (or a list of anchors, the first one winning)
    is reported at the anchor's text, under the route that took it."""
    text = (
        "x-a: &a {keep_quoted: maybe}\n"
        "x-b: &b {keep_quoted: false, max_age: 1w}\n"
        "routes:\n"
        "  - <<: [*a, *b]\n"
        "    domain: issues.example.com\n"
        "    repo: o/r\n"
        "    allowed_senders: [example.com]\n"
    )
    assert errors_of(text) == [
        "routes.yaml:1:23: route 1 (issues.example.com): keep_quoted must be true or false, not "
        '"maybe"',
        'routes.yaml:2:39: route 1 (issues.example.com): max_age "1w" is not a duration: write '
        "a whole number of hours or days, e.g. 36h or 7d",
    ]
