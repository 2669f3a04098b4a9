"""Domain normal form: IDNA 2008 with the UTS 46 mapping, and no name that the mapping changes
beyond case and a trailing dot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.routing import RoutesError, parse_routes, sender_allowed
from handler.routing.domains import _normalize, domain_problem, normalize_domain

BUECHER = "xn--bcher-kva.example"
# A soft hyphen, a zero-width space, a full-width x: UTS 46 maps each away or onto ASCII.
MAPPED = ("\u00ad", "\u200b", "\uff58")


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Bücher.Example.", BUECHER),
        ("BÜCHER.example", BUECHER),
        (BUECHER, BUECHER),
        ("XN--BCHER-KVA.Example.", BUECHER),
        # A valid U-label beside an A-label of the same name: both are written as they are.
        ("xn--bcher-kva.bücher.example", "xn--bcher-kva.xn--bcher-kva.example"),
        # IDNA 2008, non-transitional: ß is a letter of its own, not "ss".
        ("straße.de", "xn--strae-oqa.de"),
        ("ẞ.de", "xn--zca.de"),
        ("Issues.Example.COM.", "issues.example.com"),
        ("  issues.example.com\t", "issues.example.com"),
        # Hyphens in the third and fourth place of an ASCII label other than xn--: a host name.
        ("ab--cd.example", "ab--cd.example"),
        ("mail.xn--p1ai", "mail.xn--p1ai"),
    ],
)
def test_names_are_read_in_their_ascii_form(text: str, normal: str):
    """Case and one trailing dot aside, a name is its xn-- form, and an A-label stays itself."""
    assert normalize_domain(text) == normal
    assert domain_problem(text) == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # Soft hyphen: invisible, and mapped away.
        (
            "b\u00adücher.example",
            ": U+00AD would be changed by the IDNA mapping (UTS 46), which reads the name as "
            f"bücher.example; write {BUECHER} itself",
        ),
        # Zero-width space: mapped away onto an ASCII name.
        (
            "ex\u200bample.com",
            ": U+200B would be changed by the IDNA mapping (UTS 46), which reads the name as "
            "example.com; write example.com itself",
        ),
        # Full-width letters and a full-width one among others.
        (
            "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
            ": U+FF41, U+FF45, U+FF4C, U+FF4D, U+FF50 and 1 more would be changed by the IDNA "
            "mapping (UTS 46), which reads the name as example.com; write example.com itself",
        ),
        (
            "\uff42ücher.example",
            ": U+FF42 would be changed by the IDNA mapping (UTS 46), which reads the name as "
            f"bücher.example; write {BUECHER} itself",
        ),
        # Compatibility characters: a roman numeral, an ideographic full stop.
        (
            "\u2177.com",
            ": U+2177 would be changed by the IDNA mapping (UTS 46), which reads the name as "
            "viii.com; write viii.com itself",
        ),
        (
            "bücher\u3002example",
            ": U+3002 would be changed by the IDNA mapping (UTS 46), which reads the name as "
            f"bücher.example; write {BUECHER} itself",
        ),
        # Decomposed (NFD) ü: the same name only once composed.
        (
            "bu\u0308cher.example",
            ": U+0308 would be changed by the IDNA mapping (UTS 46), which reads the name as "
            f"bücher.example; write {BUECHER} itself",
        ),
        # Joiners where no script needs them, a symbol, a no-break space: not IDNA 2008 at all.
        ("ex\u200dample.com", ": it is not a valid internationalised domain name (IDNA 2008)"),
        ("ex\u200cample.com", ": it is not a valid internationalised domain name (IDNA 2008)"),
        ("\U0001f4a9.example", ": it is not a valid internationalised domain name (IDNA 2008)"),
        ("\u00a0bücher.example", ": it is not a valid internationalised domain name (IDNA 2008)"),
        # A-labels that are none: not Punycode of a valid U-label, or not its canonical form.
        ("xn--abc.example", ": xn--abc is not a valid xn-- label (IDNA 2008)"),
        ("xn--bcher-kv.example", ": xn--bcher-kv is not a valid xn-- label (IDNA 2008)"),
        ("xn--ls8h.example", ": xn--ls8h is not a valid xn-- label (IDNA 2008)"),
        ("xn---bbk.example", ": xn---bbk is not a valid xn-- label (IDNA 2008)"),
        ("www.XN--ABC.example", ": xn--abc is not a valid xn-- label (IDNA 2008)"),
        # Refused for the plain reasons, which need no IDNA hint.
        ("xn--.example", ""),
        ("xn--bcher-kva-.example", ""),
        ("issues.example.com..", ""),
        ("bücher", ""),
        ("a_b.example.com", ""),
        ("192.0.2.1", ""),
        ("", ""),
    ],
)
def test_names_the_mapping_would_change_are_refused(text: str, problem: str):
    """A name that is a valid IDN only after UTS 46 maps it is refused, and so is an invalid
    A-label; the problem says which characters, and what to write instead."""
    assert normalize_domain(text) is None
    assert domain_problem(text) == problem


def test_a_routes_file_says_why_its_domain_is_refused():
    """The routes file's error names the character the mapping would drop."""
    text = "routes:\n  - {domain: b\u00adücher.example, repo: o/r, allowed_senders: [a.org]}\n"
    with pytest.raises(RoutesError) as caught:
        parse_routes(text, "routes.yaml")
    assert caught.value.errors == (
        'routes.yaml:2:14: route 1 (b\u00adücher.example): domain "b\u00adücher.example" is not a '
        "valid domain name: U+00AD would be changed by the IDNA mapping (UTS 46), which reads "
        f"the name as bücher.example; write {BUECHER} itself",
    )


def test_an_allowed_sender_with_a_soft_hyphen_is_refused():
    """A sender domain is read by the same rules: a hidden character never matches a route."""
    routes = parse_routes(
        "routes:\n  - {domain: issues.example.com, repo: o/r, allowed_senders: [bücher.example]}\n",
        "routes.yaml",
    )
    [route] = routes.routes
    assert sender_allowed(route, "bücher.example") is True
    assert sender_allowed(route, BUECHER) is True
    assert sender_allowed(route, "b\u00adücher.example") is False
    assert sender_allowed(route, "\uff42ücher.example") is False


@pytest.mark.parametrize(
    ("length", "normal"),
    [(253, True), (254, False)],
)
def test_names_are_at_most_253_characters(length: int, normal: bool):
    """The DNS limit, with the trailing dot not counted."""
    name = ".".join(["a" * 63] * 3) + "." + "b" * (length - 3 * 64)
    assert len(name) == length
    assert (normalize_domain(name + ".") == name) is normal


def test_only_what_could_be_a_domain_is_cached():
    """Long hostile values are normalised without entering the cache."""
    _normalize.cache_clear()
    assert normalize_domain("x" * 400 + ".example") is None
    assert _normalize.cache_info().currsize == 0
    assert normalize_domain("Bücher.Example.") == BUECHER
    assert normalize_domain("Bücher.Example.") == BUECHER
    info = _normalize.cache_info()
    assert (info.currsize, info.hits) == (1, 1)


@given(st.text(max_size=80))
def test_the_normal_form_is_ascii_and_its_own_normal_form(text: str):
    """Whatever the text, the answer is None or an ASCII name that normalises to itself."""
    normal = normalize_domain(text)
    if normal is not None:
        assert normal.isascii()
        assert normal == normal.lower()
        assert normalize_domain(normal) == normal


@given(st.lists(st.sampled_from(["a", "ü", "-", ".", *MAPPED, "xn--"]), max_size=30))
def test_a_name_with_a_mapped_character_is_never_accepted(parts: list[str]):
    """Soft hyphens, zero-width spaces and full-width letters never survive into a name."""
    text = "".join(parts) + ".example"
    if any(char in text for char in MAPPED):
        assert normalize_domain(text) is None
