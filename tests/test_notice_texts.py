"""A route's own notice texts and contact: what `check` refuses, and how a template is read."""

from __future__ import annotations

import re

import pytest

from handler.outbound.notices import TEXTS
from handler.reasons import Reason
from handler.routing import RoutesError, parse_routes
from handler.routing.templates import NOTICE_PLACEHOLDERS, TemplateError, template_parts

ROUTE = "routes:\n  - domain: issues.example.com\n    repo: o/site\n    allowed_senders: [a.org]\n"
# Where a message is (file, position, route): the routes' own tests cover that part.
_WHERE = re.compile(r"^routes\.yaml\S*: route \d+ \(issues\.example\.com\): ")
BASE = "{recipient}, {issue}, {domain}, {repo}, {addresses}, {contact}"


def problems(keys: str) -> list[str]:
    """What `check` says of the route with ``keys`` (YAML lines) added, without the location."""
    try:
        parse_routes(ROUTE + keys, "routes.yaml")
    except RoutesError as error:
        found = error.errors
    else:
        return []
    assert all(_WHERE.match(each) for each in found), found
    return [_WHERE.sub("", each) for each in found]


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        (
            "    notices: {invalid-issue: Wrong address}\n",
            'notices: "invalid-issue" is not a notice a sender gets (did you mean '
            "invalid-issue-number?); the notices are no-route, invalid-issue-number, "
            "sender-not-allowed, empty-body, issue-not-found, issue-locked, encrypted-mail, "
            "validation-failed, posted, opened",
        ),
        (
            "    notices: {not-authenticated: Who are you?}\n",
            'notices: "not-authenticated" is not a notice a sender gets; the notices are '
            "no-route, invalid-issue-number, sender-not-allowed, empty-body, issue-not-found, "
            "issue-locked, encrypted-mail, validation-failed, posted, opened",
        ),
        (
            "    notices: {issue-locked: 'Issue {isue} is locked'}\n",
            "notices.issue-locked: {isue} is not a placeholder here; did you mean {issue}? "
            f"the placeholders are {BASE}",
        ),
        (
            "    notices: {sender-not-allowed: 'See {url}'}\n",
            f"notices.sender-not-allowed: {{url}} is not a placeholder here; the placeholders are "
            f"{BASE}",
        ),
        (
            "    notices: {posted: 'At {url}, reply to {reply_to}'}\n",
            "notices.posted: {reply_to} is not a placeholder here; did you mean {repo}? the "
            f"placeholders are {BASE}, {{url}}",
        ),
        (
            "    notices: {opened: '{recipient.__class__}'}\n",
            "notices.opened: {recipient.__class__} is not a placeholder here; did you mean "
            f"{{recipient}}? the placeholders are {BASE}, {{url}}, {{reply_to}}",
        ),
        (
            "    notices: {empty-body: 'a } b'}\n",
            "notices.empty-body: a { or } opens or closes no placeholder: write {{ or }} for a "
            "literal brace",
        ),
        (
            "    notices: {empty-body: 'a {issue'}\n",
            "notices.empty-body: a { or } opens or closes no placeholder: write {{ or }} for a "
            "literal brace",
        ),
        (
            "    notices: {encrypted-mail: 'Issue {issue:>5}'}\n",
            "notices.encrypted-mail: {issue:>5} takes no format or conversion: write {issue}",
        ),
        (
            "    notices: {encrypted-mail: 'Issue {issue!r}'}\n",
            "notices.encrypted-mail: {issue!r} takes no format or conversion: write {issue}",
        ),
        (
            "    notices: {posted: 'Posted {}'}\n",
            "notices.posted: {} names no placeholder: write {{ and }} for literal braces",
        ),
        ("    notices: {no-route: '  '}\n", "notices.no-route is blank"),
        (
            "    contact: mailto:help@example.org\n",
            'contact "mailto:help@example.org": write the address alone, without mailto:',
        ),
        (
            "    contact: http://example.org/help\n",
            'contact "http://example.org/help" is not an https URL: write an address '
            "(help@example.com) or an https URL (https://example.com/support)",
        ),
        (
            "    contact: https://user:secret@example.org/help\n",
            'contact "https://user:secret@example.org/help" holds credentials: a notice shows '
            "it to senders",
        ),
        (
            "    contact: the web team\n",
            'contact "the web team" is neither an address (help@example.com) nor an https URL '
            "(https://example.com/support)",
        ),
        (
            "    contact: help@example..org\n",
            'contact "help@example..org" is neither an address (help@example.com) nor an https '
            "URL (https://example.com/support)",
        ),
    ],
)
def test_check_refuses_a_bad_text_or_contact_with_a_specific_message(keys: str, says: str):
    """Each malformed notice text or contact is one problem, worded for the file's author."""
    assert problems(keys) == [says]


def test_every_problem_of_a_route_is_reported_at_once():
    """Several bad texts in one route: every one is named, in the file's order."""
    keys = "    notices:\n      issue-locked: '{a}'\n      empty-body: '}'\n    contact: team\n"
    assert problems(keys) == [
        f"notices.issue-locked: {{a}} is not a placeholder here; the placeholders are {BASE}",
        "notices.empty-body: a { or } opens or closes no placeholder: write {{ or }} for a "
        "literal brace",
        'contact "team" is neither an address (help@example.com) nor an https URL '
        "(https://example.com/support)",
    ]


def test_valid_texts_and_contact_reach_the_route():
    """Texts are kept as written, by reason, in file order; the contact is trimmed."""
    routes = parse_routes(
        ROUTE + "    contact: ' help@example.org '\n"
        "    notices:\n"
        "      opened: 'See {url}; reply to {reply_to} {{not a placeholder}}'\n"
        '      invalid-issue-number: "Try:\\n{addresses}"\n',
        "routes.yaml",
    )
    [route] = routes.routes
    assert route.contact == "help@example.org"
    assert route.notices == (
        (Reason.OPENED, "See {url}; reply to {reply_to} {{not a placeholder}}"),
        (Reason.INVALID_ISSUE_NUMBER, "Try:\n{addresses}"),
    )


@pytest.mark.parametrize(
    ("keys", "notify"),
    [("", True), ("    notify: true\n", True), ("    notify: false\n", False)],
)
def test_notify_is_on_unless_the_route_says_false(keys: str, notify: bool):
    """Senders are told by default; notify: false turns it off for the route."""
    [route] = parse_routes(ROUTE + keys, "routes.yaml").routes
    assert (route.notify, route.confirm, route.contact, route.notices) == (notify, False, None, ())


def test_https_url_contact_is_valid():
    assert problems("    contact: https://example.org/support\n") == []


def test_template_parts_are_literals_and_names():
    """Doubled braces are literal; a placeholder is its bare name."""
    assert template_parts("a {{b}} {issue}c{repo}", ("issue", "repo")) == [
        ("a {", None),
        ("b}", None),
        (" ", "issue"),
        ("c", "repo"),
    ]
    with pytest.raises(TemplateError):
        template_parts("{issue}", ("repo",))


def test_every_built_in_text_is_a_valid_template_of_its_notice():
    """The built-in table and the notices a route may reword are the same set, and each
    built-in text uses only its own placeholders."""
    assert set(TEXTS) == set(NOTICE_PLACEHOLDERS)
    for reason, text in TEXTS.items():
        assert template_parts(text, NOTICE_PLACEHOLDERS[reason])
