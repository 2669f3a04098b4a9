"""The routes of a deployment as values, and the lookup from a recipient address to the issue it
names. Pure: handler.routing.load makes these values from the routes file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from handler.attachments.model import AttachmentSettings
from handler.reasons import Reason
from handler.routing.domains import is_subdomain, normalize_domain

# GitHub issue numbers are 32-bit.
MAX_ISSUE_NUMBER = 2**31 - 1
# How an issue number is written: ASCII decimal digits, no sign, no leading zero.
ISSUE_NUMBER = re.compile(r"[1-9][0-9]*")
# GitHub's rules: owners are alphanumeric with single inner hyphens, up to 39 characters.
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# owner/name as GitHub spells a repository's full_name.
REPO_FULL_NAME = re.compile(f"{GITHUB_LOGIN.pattern}/{_REPO_NAME.pattern}")
# The sub-address of an issue address that unsubscribes from the issue.
UNSUBSCRIBE_TAG = "unsubscribe"
# How much older than its arrival at SES a mail's Date may be, unless a route says (max_age):
# a week covers mail held in a queue over a long weekend.
DEFAULT_MAX_AGE = 7 * 86400


@dataclass(frozen=True)
class TokenSecret:
    """A route's own GitHub token, in Secrets Manager (the bare token or JSON {"token": ...})."""

    secret_id: str  # name or ARN


@dataclass(frozen=True)
class GitHubApp:
    """A GitHub App installation the route posts as: comments appear as the app's bot."""

    # The JWT's iss: the app's client id (Iv23...) or its numeric app id, as written.
    issuer: str
    installation_id: int
    # Secrets Manager name or ARN of the app's private key (PEM, or JSON {"private_key": ...}).
    private_key_secret: str


Credential = TokenSecret | GitHubApp


@dataclass(frozen=True)
class Route:
    index: int
    domain: str
    prefix: str
    repo: str
    allowed_senders: tuple[str, ...]
    name: str | None = None
    keep_quoted: bool = True
    # Publish the sender's address beside the display name (privacy: off unless opted in).
    show_sender_address: bool = False
    # Tell a sender by mail why their mail was not posted, when they can fix it (on unless the
    # route says notify: false; handler.outbound.notices).
    notify: bool = True
    # Tell a sender by mail where their mail was posted.
    confirm: bool = False
    # Mail the issue's mail participants what happens on GitHub (handler.outbound.outbox).
    notify_participants: bool = False
    # Whether the addresses in To and Cc of an accepted mail join its issue's participants
    # (when their domain may: ``may_join``), and the domains beyond allowed_senders that may.
    cc_participants: bool = True
    cc_domains: tuple[str, ...] = ()
    # The whole local part that opens a new issue (prefix included), None when mail cannot.
    new_issue_address: str | None = None
    # Labels of the issues opened by mail.
    labels: tuple[str, ...] = ()
    # None: the deployment's token; else the route's own token secret or GitHub App.
    credential: Credential | None = None
    # None: the deployment's API (GITHUB_API_URL); else a GitHub Enterprise Server's API base.
    api_url: str | None = None
    # Comment although the mail names the issue address in neither To nor Cc (a Bcc copy).
    # Never for new issues or unsubscribes (handler.inbound.replay_guard).
    allow_bcc: bool = False
    # Seconds a mail's Date may lie before SES received it (max_age).
    max_age: int = DEFAULT_MAX_AGE
    # The route's own texts of notices (reason, template), replacing the built-in ones; a tuple,
    # not a dict, so that a Route stays hashable.
    notices: tuple[tuple[Reason, str], ...] = ()
    # Who a sender whose domain is not allowed should ask: an address or an https URL.
    contact: str | None = None
    # Whether a posted mail's files are listed (as ever) or stored and linked, and how.
    # Frozen, so one instance shared by every route as the default is safe.
    attachments: AttachmentSettings = AttachmentSettings()  # noqa: RUF009

    @property
    def key(self) -> str:
        """How logs, metrics and the decision log name the route, stable however the file is
        reordered: ``web-@issues.example.com``, or the bare domain without a prefix."""
        return f"{self.prefix}@{self.domain}" if self.prefix else self.domain

    @property
    def label(self) -> str:
        """How messages name this route: ``route 2 (web-@issues.example.com)``, numbered from 1."""
        return route_label(self.index, self.domain, self.prefix)


@dataclass(frozen=True)
class Target:
    route: Route
    issue: int


@dataclass(frozen=True)
class NewIssue:
    """The address opens a new issue in the route's repository."""

    route: Route


@dataclass(frozen=True)
class Unsubscribe:
    """The address takes its sender off the issue's mail participants
    (handler.outbound.participants):
    ``<prefix><number>+unsubscribe@domain``, the List-Unsubscribe address of our mails."""

    route: Route
    issue: int


@dataclass(frozen=True)
class Miss:
    """Why an address maps to no issue: ``no-route``, ``invalid-issue-number``,
    ``invalid-address``."""

    reason: Reason
    detail: str


@dataclass(frozen=True)
class _Domain:
    """The routes of one domain, indexed for lookup: by prefix, and the prefix lengths in use,
    longest first (a lookup tries one dictionary probe per length, whatever the number of
    routes)."""

    routes: tuple[Route, ...]
    by_prefix: dict[str, Route]
    lengths: tuple[int, ...]
    # Whole local parts that open issues.
    openings: dict[str, Route]


class Routes:
    """The routes of a deployment, indexed by domain for lookup.

    Built from validated routes (handler.routing.validate), or from routes.json
    (``Routes.packaged``): there each domain's routes stay JSON text until an address of the
    domain is looked up, so that a cold start with 10,000 routes decodes the few it uses.
    """

    def __init__(self, routes: tuple[Route, ...], source: str) -> None:
        self.source = source
        self._routes: tuple[Route, ...] | None = routes
        grouped: dict[str, list[Route]] = {}
        for route in routes:
            grouped.setdefault(route.domain, []).append(route)
        self._by_domain = {domain: _domain(found) for domain, found in grouped.items()}
        self._packed: dict[str, Callable[[], list[Route]]] = {}

    @classmethod
    def packaged(cls, packed: dict[str, Callable[[], list[Route]]], source: str) -> Routes:
        """Routes whose domains (in file order) each give their routes when first needed."""
        routes = cls((), source)
        routes._routes = None
        routes._packed = packed
        return routes

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every route, in file order."""
        if self._routes is None:
            self._routes = tuple(sorted(self._each(), key=lambda route: route.index))
        return self._routes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Routes):
            return NotImplemented
        return (self.routes, self.source) == (other.routes, other.source)

    def __hash__(self) -> int:
        return hash((self.routes, self.source))

    def __repr__(self) -> str:
        return f"Routes(routes={self.routes!r}, source={self.source!r})"

    def any_route(self, predicate: Callable[[Route], bool]) -> bool:
        """Whether ``predicate`` holds for some route; routes.json's are decoded only as far as
        the first that it holds for."""
        return any(predicate(route) for route in self._each())

    def _each(self) -> Iterator[Route]:
        """Every route, domain by domain."""
        if self._routes is not None:
            yield from self._routes
            return
        for domain in self._packed:
            yield from self._decoded(domain).routes

    def _of(self, domain: str) -> _Domain | None:
        return self._decoded(domain) if domain in self._packed else self._by_domain.get(domain)

    def _decoded(self, domain: str) -> _Domain:
        found = self._by_domain.get(domain)
        if found is None:
            found = self._by_domain[domain] = _domain(self._packed[domain]())
        return found

    @property
    def domains(self) -> tuple[str, ...]:
        """The recipient domains, each once, in file order."""
        return tuple(self._packed or self._by_domain)

    def ours(self, domain: str) -> bool:
        """True when ``domain`` (normal form) is a recipient domain or below one: an address
        there is one of ours, which nothing may mail from outside (loops). Its suffixes are
        looked up, with no scan of every domain and no route decoded."""
        labels = domain.split(".")
        return any(
            suffix in self._packed or suffix in self._by_domain
            for suffix in (".".join(labels[start:]) for start in range(len(labels)))
        )

    def of_domain(self, domain: str) -> tuple[Route, ...]:
        """The routes of the recipient domain ``domain`` (normal form), in file order."""
        found = self._of(domain)
        return found.routes if found is not None else ()

    def lookup(self, address: str) -> Target | NewIssue | Unsubscribe | Miss:
        """The issue ``address`` names (or opens, or unsubscribes from), or why it names none.

        Case never matters. The rules apply in the order of the comments below; an address that
        fits none is refused with the reason rather than guessed.
        """
        # <local>@<domain>, split at the last @, without surrounding <> and whitespace. A quoted
        # local part is no address of ours.
        text = address.strip().strip("<>").strip()
        written, at, raw_domain = text.rpartition("@")
        if not at or not written or written.startswith('"'):
            return Miss(Reason.INVALID_ADDRESS, f"{quoted(text)} is not a plain mailbox address")
        # <prefix><number>+unsubscribe: the issue that <prefix><number> names, to leave.
        issue_part, plus, tag = written.rpartition("+")
        if plus and tag.lower() == UNSUBSCRIBE_TAG:
            target = self.lookup(f"{issue_part}@{raw_domain}")
            if isinstance(target, Target):
                return Unsubscribe(target.route, target.issue)
            if isinstance(target, Miss):
                return target
            return Miss(
                Reason.INVALID_ISSUE_NUMBER,
                f"{quoted(written)} unsubscribes from an issue: <prefix><issue number>+"
                f"{UNSUBSCRIBE_TAG}, not a new-issue address",
            )
        # The domain in the normal form the routes file's are in (handler.routing.domains):
        # Issues.Example.COM. matches issues.example.com; an IP literal is never a domain.
        domain = normalize_domain(raw_domain)
        if domain is None:
            return Miss(Reason.INVALID_ADDRESS, f"{quoted(raw_domain)} is not a valid domain")
        candidates = self._of(domain)
        if candidates is None:
            return Miss(Reason.NO_ROUTE, f"no route for the domain {domain}")
        # A new-issue address is a whole local part (validation keeps it from reading as any
        # route's issue address).
        local = written.lower()
        opened = candidates.openings.get(local)
        if opened is not None:
            return NewIssue(opened)
        # The longest prefix that starts the local part wins, and only it: validation refuses
        # prefixes that could read one local part as two valid issue numbers (``v`` and
        # ``v1``), so a shorter prefix has nothing to offer when the longest fails.
        hint = ""
        longest = next(
            (
                candidates.by_prefix[local[:length]]
                for length in candidates.lengths
                if local[:length] in candidates.by_prefix
            ),
            None,
        )
        if longest is not None:
            # What follows the prefix is the issue number, all of it.
            rest = local[len(longest.prefix) :]
            number = issue_number(rest)
            if number is not None:
                return Target(longest, number)
            hint = _number_hint(rest)
        examples = " or ".join(
            [f"{route.prefix}123" for route in candidates.routes] + list(candidates.openings)
        )
        return Miss(
            Reason.INVALID_ISSUE_NUMBER,
            f"{quoted(written)} is not <prefix><issue number> for {domain} "
            f"(expected e.g. {examples}){hint}",
        )


def _domain(routes: list[Route]) -> _Domain:
    return _Domain(
        routes=tuple(routes),
        # Validation refuses two routes with one domain and prefix; first one wins if not.
        by_prefix={route.prefix: route for route in reversed(routes)},
        lengths=tuple(sorted({len(route.prefix) for route in routes}, reverse=True)),
        openings=_openings(routes),
    )


def _openings(routes: list[Route]) -> dict[str, Route]:
    found: dict[str, Route] = {}
    for route in routes:
        if route.new_issue_address is not None:
            # Validation refuses two routes with one new-issue address; the first wins if not.
            found.setdefault(route.new_issue_address, route)
    return found


def issue_number(text: str) -> int | None:
    """``text`` as an issue number (ISSUE_NUMBER, at most MAX_ISSUE_NUMBER), or None: ``7+tag``,
    ``007`` or ``help`` is none."""
    # The length test first: int() refuses strings over 4300 digits (CVE-2020-10735).
    if len(text) <= 10 and ISSUE_NUMBER.fullmatch(text) and int(text) <= MAX_ISSUE_NUMBER:
        return int(text)
    return None


def _number_hint(rest: str) -> str:
    """Why ``rest`` (what follows the prefix) is no issue number, when a reason helps."""
    number, plus, _ = rest.partition("+")
    if plus and ISSUE_NUMBER.fullmatch(number):
        return ": +tag subaddresses are not accepted"
    if rest.isascii() and rest.isdigit():
        if rest.strip("0") == "":
            return ": issue numbers start at 1"
        if rest.startswith("0"):
            return ": an issue number has no leading zero"
        return f": issue numbers stop at {MAX_ISSUE_NUMBER}"
    return ""


def sender_allowed(route: Route, domain: str) -> bool:
    """True when a mail from ``domain`` may be posted through ``route``.

    An ``allowed_senders`` entry ``example.com`` matches exactly that domain; ``*.example.org``
    matches any subdomain of example.org, however deep, but not example.org itself. Nothing else
    matches: ``evilexample.com`` and ``example.com.evil.net`` never match ``example.com``.
    """
    return _matches(route.allowed_senders, domain)


def may_join(route: Route, domain: str) -> bool:
    """True when an address at ``domain`` that an accepted mail had in To or Cc joins the
    issue's participants: the route lets copied colleagues join, and its ``allowed_senders``,
    or the ``cc_domains`` that widen them, match ``domain`` (the same patterns)."""
    if not route.cc_participants:
        return False
    return sender_allowed(route, domain) or _matches(route.cc_domains, domain)


def may_read(route: Route, domain: str) -> bool:
    """True when a participant at ``domain`` is still mailed through ``route``: what its domain
    may no longer write (or join), it no longer reads either (the repository may be private)."""
    return sender_allowed(route, domain) or (
        route.cc_participants and _matches(route.cc_domains, domain)
    )


def _matches(patterns: tuple[str, ...], domain: str) -> bool:
    sender = normalize_domain(domain)
    if sender is None:
        return False
    for entry in patterns:
        if entry.startswith("*."):
            if is_subdomain(sender, entry[2:]):
                return True
        elif sender == entry:
            return True
    return False


def quoted(text: str) -> str:
    """``text`` in double quotes, with control characters escaped but Unicode kept."""
    return json.dumps(text, ensure_ascii=False)


def route_label(index: int, domain: str, prefix: str) -> str:
    """``route 2 (web-@issues.example.com)`` for the route at ``index``: people count routes
    from 1, as an editor counts lines."""
    number = index + 1
    return f"route {number} ({prefix}@{domain})" if prefix else f"route {number} ({domain})"
