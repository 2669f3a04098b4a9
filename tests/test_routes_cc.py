"""routes.yaml's cc_participants: who a posted mail's To and Cc may bring into an issue's
conversation, read, refused with a plain error, packaged and matched."""

from __future__ import annotations

import pytest

from handler.routing import (
    Routes,
    RoutesError,
    load_routes,
    may_join,
    may_read,
    parse_routes,
    routes_json,
)
from handler.routing.packaged import FORMAT
from tests.test_routes import at, errors_of, ok


def only(**keys: str):
    [route] = parse_routes("routes:\n" + ok(**keys), "routes.yaml").routes
    return route


def test_copied_colleagues_of_allowed_domains_join_unless_a_route_says_otherwise():
    """Left out or true: cc_participants is on and widens nothing; false turns it off."""
    assert (only().cc_participants, only().cc_domains) == (True, ())
    assert (only(cc_participants="true").cc_participants, only().cc_domains) == (True, ())
    assert (only(cc_participants="false").cc_participants, only().cc_domains) == (False, ())


def test_a_list_widens_who_may_join_in_normal_form():
    """A list keeps cc_participants on and names the domains, written as allowed_senders are,
    lowercased and without a trailing dot."""
    route = only(cc_participants="[Partner.Example.NET., '*.Lab.Example.org']")
    assert (route.cc_participants, route.cc_domains) == (
        True,
        ("partner.example.net", "*.lab.example.org"),
    )
    assert may_join(route, "partner.example.net")
    assert may_join(route, "x.lab.example.org")
    assert may_join(route, "example.com")
    assert not may_join(route, "lab.example.org")
    assert not may_join(route, "elsewhere.example.net")
    assert may_read(route, "partner.example.net")


def test_false_lets_nobody_join_and_nobody_widened_read():
    """cc_participants false: no domain joins, not even an allowed one."""
    route = only(cc_participants="false")
    assert not may_join(route, "example.com")
    assert may_read(route, "example.com")


def test_defaults_may_give_cc_participants():
    """A default applies to every route that does not give its own."""
    text = (
        "defaults:\n  cc_participants: [partner.example.net]\nroutes:\n"
        + ok(prefix="a-")
        + ok(prefix="b-", cc_participants="false")
    )
    first, second = parse_routes(text, "routes.yaml").routes
    assert first.cc_domains == ("partner.example.net",)
    assert (second.cc_participants, second.cc_domains) == (False, ())


@pytest.mark.parametrize(
    ("value", "written", "expected"),
    [
        (
            "'yes'",
            "'yes'",
            'cc_participants must be true, false or a list of sender domains, not "yes"',
        ),
        (
            "partner.example.net",
            "partner.example.net",
            "cc_participants must be true, false or a list of sender domains, not "
            '"partner.example.net"',
        ),
        (
            "{a: b}",
            "{a: b}",
            "cc_participants must be true, false or a list of sender domains, not a mapping",
        ),
        (
            "[]",
            "[]",
            "cc_participants is empty: write true (the allowed_senders domains join) or false, "
            "or list the domains that join besides",
        ),
        (
            "[example.com, 5]",
            "5",
            "cc_participants[1] must be text, not the number 5 (put it in quotes)",
        ),
        (
            "['*']",
            "'*'",
            'cc_participants entry "*" is not a sender domain: a lone * would let anyone post; '
            "write *.example.org for one domain's subdomains",
        ),
        (
            "[bob@partner.example.net]",
            "bob@partner.example.net",
            'cc_participants entry "bob@partner.example.net" is not a sender domain: list the '
            "domain only, e.g. example.com, not an address",
        ),
        (
            "['*.com']",
            "'*.com'",
            'cc_participants entry "*.com" is not a sender domain: a wildcard must name a domain '
            "below a top-level domain, e.g. *.example.org",
        ),
    ],
)
def test_a_wrong_value_is_one_line_at_its_place(value, written, expected):
    """Each mistake is one error naming the file, line and column, the route and the key."""
    text = "routes:\n" + ok(cc_participants=value)
    assert errors_of(text) == [
        f"routes.yaml:{at(text, written)}: route 1 (issues.example.com): {expected}"
    ]


def test_a_wrong_default_is_reported_once_as_the_defaults_own():
    """A bad entry in defaults is the defaults' error, not each route's."""
    text = "defaults:\n  cc_participants: ['*']\nroutes:\n" + ok(prefix="a-") + ok(prefix="b-")
    assert errors_of(text) == [
        f'routes.yaml:{at(text, chr(39) + "*")}: defaults: cc_participants entry "*" is not a '
        "sender domain: a lone * would let anyone post; write *.example.org for one domain's "
        "subdomains"
    ]


def test_routes_json_keeps_cc_participants(tmp_path):
    """false and a widening list come back from routes.json as validated; the format says so."""
    text = (
        "routes:\n"
        + ok(prefix="a-", cc_participants="false")
        + ok(prefix="b-", cc_participants="[partner.example.net, '*.lab.example.org']")
        + ok(prefix="c-")
    )
    path = tmp_path / "routes.json"
    path.write_text(routes_json(text, "routes.yaml"))
    parsed = parse_routes(text, "routes.yaml")
    assert load_routes(path) == Routes(parsed.routes, str(path))
    assert load_routes(path).routes[1].cc_domains == ("partner.example.net", "*.lab.example.org")
    assert path.read_text().startswith(f'{{"format": "{FORMAT}"')


def test_a_routes_json_of_the_format_before_cc_participants_is_refused(tmp_path):
    """Rows may now hold cc_participants: a routes.json of format 2 is packaged again, never
    read by code that could misread it."""
    path = tmp_path / "routes.json"
    path.write_text(
        routes_json("routes:\n" + ok(), "routes.yaml").replace(FORMAT, "ticket-router routes 2")
    )
    with pytest.raises(RoutesError) as caught:
        load_routes(path)
    assert caught.value.errors == (
        f"{path}: not a routes.json of this version's `make package` (format "
        "'ticket-router routes 3'): give the routes.yaml, or package it again",
    )
