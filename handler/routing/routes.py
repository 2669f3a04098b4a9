"""routes.yaml: load, validate, look up.

Pure apart from ``load_routes`` reading the file. The rules, in the order a lookup applies them:

1. An address is ``<local>@<domain>``, split at the last ``@``; surrounding ``<>`` and
   whitespace are ignored, and a quoted local part is refused as an invalid address.
2. Matching is case-insensitive. Domains are compared in one normal form (lowercase, trailing
   dot stripped, IDN labels as ``xn--``; see handler.routing.domains), in the routes file and in
   mail
   alike, so ``Issues.Example.COM.`` in the file matches ``issues.example.com``. IP literals are
   never domains.
3. Among the routes for the domain, the longest prefix that starts the local part wins, and
   only it: validation guarantees that no shorter prefix could read the same local part as a
   valid issue number, so there is nothing to fall back to.
4. What follows the prefix must be the issue number: ASCII decimal digits, no sign, no leading
   zero, at most 2147483647 (GitHub issue numbers are 32-bit). Anything else (``7+tag``,
   ``007``, ``help``) is refused rather than guessed.

Validation happens once, at load, and reports every problem at once, each naming the file, the
route (index and ``prefix@domain``) and the key. Besides the JSON Schema
(``routes.schema.json``) it rejects what a schema cannot see: repeated YAML keys, malformed
domains, prefixes and repositories, two routes for one domain and prefix, and prefixes that
make an address ambiguous. Prefixes ``P`` and ``P + X`` on one domain are ambiguous exactly
when ``X`` could begin an issue number (all digits, not starting with 0): with ``v`` and
``v1``, is ``v12`` issue 2 of one or issue 12 of the other? ``web-`` beside ``""``, or ``x0``
beside ``x``, is fine, since ``web-4`` and ``05`` are not issue numbers.

``allowed_senders``: ``example.com`` matches exactly that domain; ``*.example.org`` matches any
subdomain of example.org, however deep, but not example.org itself (list both to allow both).
Nothing else matches: ``evilexample.com`` and ``example.com.evil.net`` never match
``example.com``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import fastjsonschema

from handler.routing.domains import is_subdomain, normalize_domain

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

MAX_ISSUE_NUMBER = 2**31 - 1

_NUMBER = re.compile(r"[1-9][0-9]*")
# RFC 5322 dot-atom text: what a prefix may hold and still start an unquoted local part. A
# trailing dot is allowed because the issue number follows it ("web.45").
_PREFIX = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\.?")
# GitHub's rules: owners are alphanumeric with single inner hyphens, up to 39 characters.
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# owner/name as GitHub spells a repository's full_name.
REPO_FULL_NAME = re.compile(f"{GITHUB_LOGIN.pattern}/{_REPO_NAME.pattern}")
# A whole unquoted local part (RFC 5322 dot-atom), at most 64 characters (RFC 5321).
_LOCAL_PART = re.compile(
    r"(?=.{1,64}$)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
# Secrets Manager: a name, or the ARN of a secret (names allow these characters, up to 512).
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_SECRET_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:secret:"
    r"[A-Za-z0-9/_+=.@-]{1,512}"
)
# GitHub App client ids: Iv1.0123456789abcdef, Iv23liAbCdEf0123456789.
_CLIENT_ID = re.compile(r"[A-Za-z0-9.]{1,100}")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


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
    # Tell a sender by mail why their mail was not posted (handler.outbound.notices).
    notify: bool = False
    # Tell a sender by mail where their mail was posted.
    confirm: bool = False
    # Mail the issue's mail participants what happens on GitHub (handler.outbound.outbox).
    notify_participants: bool = False
    # The whole local part that opens a new issue (prefix included), None when mail cannot.
    new_issue_address: str | None = None
    # Labels of the issues opened by mail.
    labels: tuple[str, ...] = ()
    # None: the deployment's token; else the route's own token secret or GitHub App.
    credential: Credential | None = None
    # None: the deployment's API (GITHUB_API_URL); else a GitHub Enterprise Server's API base.
    api_url: str | None = None

    @property
    def label(self) -> str:
        """How messages name this route: ``route 2 (web-@issues.example.com)``."""
        return _label(self.index, self.domain, self.prefix)


# The sub-address of an issue address that unsubscribes from the issue.
UNSUBSCRIBE_TAG = "unsubscribe"


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

    reason: str
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


@dataclass(frozen=True)
class Routes:
    routes: tuple[Route, ...]
    source: str
    _by_domain: dict[str, _Domain] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[Route]] = {}
        for route in self.routes:
            grouped.setdefault(route.domain, []).append(route)
        index = {
            domain: _Domain(
                routes=tuple(routes),
                # Validation refuses two routes with one domain and prefix; first one wins if not.
                by_prefix={route.prefix: route for route in reversed(routes)},
                lengths=tuple(sorted({len(route.prefix) for route in routes}, reverse=True)),
                openings=_openings(routes),
            )
            for domain, routes in grouped.items()
        }
        object.__setattr__(self, "_by_domain", index)

    @property
    def domains(self) -> tuple[str, ...]:
        """The recipient domains, each once, in file order."""
        return tuple(self._by_domain)

    def lookup(self, address: str) -> Target | NewIssue | Unsubscribe | Miss:
        """The issue ``address`` names (or opens, or unsubscribes from), or why it names none."""
        text = address.strip().strip("<>").strip()
        written, at, raw_domain = text.rpartition("@")
        if not at or not written or written.startswith('"'):
            return Miss("invalid-address", f"{_quote(text)} is not a plain mailbox address")
        issue_part, plus, tag = written.rpartition("+")
        if plus and tag.lower() == UNSUBSCRIBE_TAG:
            target = self.lookup(f"{issue_part}@{raw_domain}")
            if isinstance(target, Target):
                return Unsubscribe(target.route, target.issue)
            if isinstance(target, Miss):
                return target
            return Miss(
                "invalid-issue-number",
                f"{_quote(written)} unsubscribes from an issue: <prefix><issue number>+"
                f"{UNSUBSCRIBE_TAG}, not a new-issue address",
            )
        domain = normalize_domain(raw_domain)
        if domain is None:
            return Miss("invalid-address", f"{_quote(raw_domain)} is not a valid domain")
        candidates = self._by_domain.get(domain)
        if candidates is None:
            return Miss("no-route", f"no route for the domain {domain}")
        local = written.lower()
        opened = candidates.openings.get(local)
        if opened is not None:
            return NewIssue(opened)
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
            rest = local[len(longest.prefix) :]
            # The length test first: int() refuses strings over 4300 digits (CVE-2020-10735).
            if len(rest) <= 10 and _NUMBER.fullmatch(rest) and int(rest) <= MAX_ISSUE_NUMBER:
                return Target(longest, int(rest))
            hint = _number_hint(rest)
        examples = " or ".join(
            [f"{route.prefix}123" for route in candidates.routes] + list(candidates.openings)
        )
        return Miss(
            "invalid-issue-number",
            f"{_quote(written)} is not <prefix><issue number> for {domain} "
            f"(expected e.g. {examples}){hint}",
        )


def _openings(routes: list[Route]) -> dict[str, Route]:
    found: dict[str, Route] = {}
    for route in routes:
        if route.new_issue_address is not None:
            # Validation refuses two routes with one new-issue address; the first wins if not.
            found.setdefault(route.new_issue_address, route)
    return found


class RoutesError(Exception):
    """The routes file cannot be used; ``errors`` holds every problem found, one per line."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


def load_routes(path: str | os.PathLike[str]) -> Routes:
    """Read and validate the routes file at ``path``: YAML, or the JSON ``make package`` makes
    of it (``.json``), which loads in a hundredth of the time."""
    try:
        # utf-8-sig: editors on Windows save a byte-order mark that is no part of the YAML.
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        reason = error.strerror or str(error)
        raise RoutesError([f"{path}: cannot read the routes file: {reason}"]) from None
    except UnicodeDecodeError as error:
        raise RoutesError(
            [f"{path}: the routes file is not UTF-8 text (byte {error.start} is not UTF-8)"]
        ) from None
    if Path(path).suffix.lower() == ".json":
        return _routes(_json_document(text, str(path)), str(path))
    return parse_routes(text, str(path))


def parse_routes(text: str, source: str) -> Routes:
    """Validate ``text`` (the YAML of a routes file named ``source`` in messages)."""
    return _routes(_yaml_document(text, source), source)


def routes_json(text: str, source: str) -> str:
    """The routes file ``text`` as the JSON that the Lambda package carries, once it is valid:
    anchors and merge keys resolved, nothing else changed."""
    document = _yaml_document(text, source)
    _routes(document, source)
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def _yaml_document(text: str, source: str) -> Any:  # noqa: ANN401 - whatever the YAML held
    try:
        # PyYAML only where routes are written and checked: the Lambda package holds routes.json.
        from handler.routing.strict_yaml import YamlError, load_yaml  # noqa: PLC0415
    except ImportError:
        raise RoutesError(
            [f"{source}: PyYAML is not installed here; give the routes.json of `make package`"]
        ) from None
    try:
        return load_yaml(text)
    except YamlError as error:
        raise RoutesError([f"{source}: {error}"]) from None


def _json_document(text: str, source: str) -> Any:  # noqa: ANN401 - whatever the JSON held
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) < len(pairs):
            keys = [key for key, _ in pairs]
            repeated = next(key for key in keys if keys.count(key) > 1)
            raise ValueError(f'the key "{repeated}" appears twice in one object')
        return found

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}: "
        raise RoutesError([f"{source}: {where}not valid JSON: {error.msg}"]) from None
    except ValueError as error:
        raise RoutesError([f"{source}: not valid JSON: {error}"]) from None


def _routes(document: Any, source: str) -> Routes:  # noqa: ANN401 - whatever the file held
    if document is None:
        raise RoutesError(
            [f"{source}: the file is empty; it needs a routes key holding a list of routes"]
        )
    if not isinstance(document, Mapping):
        shape = _describe(document)
        raise RoutesError(
            [f"{source}: the top level must be a mapping with a routes key, not {shape}"]
        )
    problems = _schema_errors(document, source)
    broken = {index for index, _ in problems if index is not None}
    routes: list[Route] = []
    raw_routes = document.get("routes")
    if isinstance(raw_routes, list):
        routes, more = _build(raw_routes, broken)
        problems += more
    if problems:
        # Errors about the whole file first, then route by route; sorted() is stable.
        ordered = sorted(problems, key=lambda p: -1 if p[0] is None else p[0])
        raise RoutesError([f"{source}: {message}" for _, message in ordered])
    return Routes(tuple(routes), source)


def sender_allowed(route: Route, domain: str) -> bool:
    """True when a mail from ``domain`` may be posted through ``route``."""
    sender = normalize_domain(domain)
    if sender is None:
        return False
    for entry in route.allowed_senders:
        if entry.startswith("*."):
            if is_subdomain(sender, entry[2:]):
                return True
        elif sender == entry:
            return True
    return False


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (Path(__file__).parent / "routes.schema.json").read_text("utf-8")
    )
    return schema


@cache
def _fast_validator() -> Callable[[Any], Any]:
    # fastjsonschema compiles the schema to Python once: a 10,000-route file validates in a
    # tenth of jsonschema's time, and without jsonschema's import on every cold start. It says
    # only whether the file is valid; jsonschema, imported on failure, says everything wrong.
    # No defaults filled in: the document is read, never changed.
    return fastjsonschema.compile(_schema(), use_default=False, use_formats=False)


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - only for an invalid file

    return Draft202012Validator(_schema())


_Problem = tuple[int | None, str]


def _schema_errors(document: Mapping[str, Any], source: str) -> list[_Problem]:
    """Each schema violation in plain words, with the index of the route it is in (if any)."""
    try:
        _fast_validator()(document)
    except fastjsonschema.JsonSchemaValueException as error:
        first = error
    else:
        return []
    try:
        validator = _validator()
    except ImportError:
        # The Lambda package ships fastjsonschema alone: its first error, and where to see all.
        # Nothing more can be checked of a file whose shape is not known to be right.
        # Its messages name the document "data": "data.routes[0] must contain ...".
        message = re.sub(r"^data\b", "the file", re.sub(r"^data\.", "", first.message))
        hint = "`ticket-router check` lists every error"
        raise RoutesError([f"{source}: {message} ({hint})"]) from None
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.path])
    # "required" yields one error per missing key, all worded alike here: keep each once.
    return list(dict.fromkeys(_explain(error, document) for error in errors))


def _explain(error: ValidationError, document: Mapping[str, Any]) -> _Problem:
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "routes" and isinstance(path[1], int):
        label = _raw_label(document["routes"][path[1]], path[1])
        return path[1], f"{label}: {_plain(error, path[2:], 'the route')}"
    return None, _plain(error, path, "routes")


def _plain(error: ValidationError, path: list[str | int], whole: str) -> str:
    subject = _key_path(path) or whole
    # jsonschema types these as unions with its own sentinels; here they are plain JSON values.
    instance: Any = error.instance
    expected: Any = error.validator_value
    schema: Any = error.schema
    # Keys missing or unknown in a mapping within the route (github_app) are named with it.
    within = f"{_key_path(path)}: " if path else ""
    if error.validator == "required":
        missing = [key for key in expected if key not in instance]
        keys = " and ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        return f"{within}the required key{plural} {keys} {_is_are(missing)} missing"
    if error.validator == "additionalProperties":
        from difflib import get_close_matches  # noqa: PLC0415 - only for a misspelt key

        known = sorted(schema.get("properties", {}))
        unknown = sorted((key for key in instance if key not in known), key=str)
        named = []
        for key in unknown:
            close = get_close_matches(str(key), known, n=1, cutoff=0.6)
            named.append(f"{key}" + (f" (did you mean {close[0]}?)" if close else ""))
        plural = "s" if len(unknown) > 1 else ""
        return f"{within}unknown key{plural} {', '.join(named)}; the known keys are " + ", ".join(
            known
        )
    if error.validator == "type":
        names = {
            "string": "text",
            "array": "a list",
            "object": "a mapping",
            "integer": "a whole number",
        }
        wanted = names.get(str(expected), "true or false" if expected == "boolean" else expected)
        quote_it = wanted == "text" and isinstance(instance, bool | int | float)
        hint = " (put it in quotes)" if quote_it else ""
        return f"{subject} must be {wanted}, not {_describe(instance)}{hint}"
    if error.validator == "minItems":
        if path and path[-1] == "allowed_senders":
            return "allowed_senders is empty: list at least one sender domain"
        if path and path[-1] == "labels":
            return "labels is empty: list at least one label, or leave labels out"
        return f"{subject} is empty: list at least one route"
    if error.validator == "minimum":
        return f"{subject} must be at least {expected}, not {_describe(instance)}"
    if error.validator == "minLength":
        return f"{subject} is empty"
    if error.validator == "maxLength":
        return f"{subject} is too long: at most {expected} characters"
    return f"{subject}: {error.message}"


def _is_are(items: list[str]) -> str:
    return "are" if len(items) > 1 else "is"


def _key_path(path: list[str | int]) -> str:
    """``allowed_senders[1]`` for the path ["allowed_senders", 1]."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)[1:]


def _describe(value: Any) -> str:  # noqa: ANN401 - whatever the YAML held
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, str):
        return _quote(value)
    # YAML reads an unquoted 2024-01-01 as a date, for one.
    return f"the {type(value).__name__} {value}"


def _quote(text: str) -> str:
    """``text`` in double quotes, with control characters escaped but Unicode kept."""
    return json.dumps(text, ensure_ascii=False)


def _label(index: int, domain: str, prefix: str) -> str:
    return f"route {index} ({prefix}@{domain})" if prefix else f"route {index} ({domain})"


def _raw_label(raw: Any, index: int) -> str:  # noqa: ANN401 - an unvalidated route
    """The route's label from whatever the file holds, in normal form where it can be."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("domain"), str):
        return f"route {index}"
    domain = normalize_domain(raw["domain"]) or raw["domain"].strip().lower()
    prefix = raw.get("prefix")
    return _label(index, domain, prefix.strip().lower() if isinstance(prefix, str) else "")


@dataclass(frozen=True)
class _Address:
    """Where a route receives mail, kept even for routes with other errors."""

    index: int
    domain: str
    prefix: str
    # The local part that opens issues (prefix included), when the route has a valid one.
    opening: str | None = None

    @property
    def label(self) -> str:
        return _label(self.index, self.domain, self.prefix)


def _build(raw_routes: list[Any], broken: set[int]) -> tuple[list[Route], list[_Problem]]:
    """Routes from the valid entries, and every problem the schema cannot see."""
    routes: list[Route] = []
    addresses: list[_Address] = []
    problems: list[_Problem] = []
    for index, raw in enumerate(raw_routes):
        if not isinstance(raw, Mapping):
            continue
        found = list(_route_problems(raw))
        if found:
            label = _raw_label(raw, index)
            problems += [(index, f"{label}: {message}") for message in found]
        domain = normalize_domain(raw["domain"]) if isinstance(raw.get("domain"), str) else None
        prefix = raw.get("prefix", "")
        prefix = prefix.strip().lower() if isinstance(prefix, str) else None
        if domain is not None and prefix is not None and _valid_prefix(prefix):
            new = raw.get("new_issue_address")
            # An issue number is reported as such, not again as a clash with the route itself.
            new = None if not isinstance(new, str) or _NUMBER.fullmatch(new.strip()) else new
            opening = prefix + new.strip().lower() if new is not None else None
            opening = opening if opening is not None and _LOCAL_PART.fullmatch(opening) else None
            addresses.append(_Address(index, domain, prefix, opening))
        if found or index in broken or domain is None or prefix is None:
            continue
        routes.append(
            Route(
                index=index,
                domain=domain,
                prefix=prefix,
                repo=raw["repo"].strip(),
                allowed_senders=tuple(_sender_entry(entry)[0] for entry in raw["allowed_senders"]),
                name=raw.get("name"),
                keep_quoted=raw.get("keep_quoted", True),
                show_sender_address=raw.get("show_sender_address", False),
                notify=raw.get("notify", False),
                confirm=raw.get("confirm", False),
                notify_participants=raw.get("notify_participants", False),
                new_issue_address=(
                    prefix + raw["new_issue_address"].strip().lower()
                    if "new_issue_address" in raw
                    else None
                ),
                labels=tuple(label.strip() for label in raw.get("labels", ())),
                credential=_credential(raw),
                api_url=_api_url(raw["api_url"]) if "api_url" in raw else None,
            )
        )
    problems += _conflicts(addresses)
    return routes, problems


def _valid_prefix(prefix: str) -> bool:
    return not prefix or _PREFIX.fullmatch(prefix) is not None


def _route_problems(raw: Mapping[str, Any]) -> Iterator[str]:
    """What the schema cannot see, for every key that at least has the right type."""
    domain, prefix, repo = raw.get("domain"), raw.get("prefix", ""), raw.get("repo")
    if isinstance(domain, str) and domain and normalize_domain(domain) is None:
        yield f"domain {_quote(domain)} is not a valid domain name{_domain_hint(domain)}"
    if isinstance(prefix, str) and not _valid_prefix(prefix.strip().lower()):
        yield (
            f"prefix {_quote(prefix)} cannot start an address: use ASCII letters, digits and "
            "characters such as - _ . + (no spaces, no @, no leading or doubled dot)"
        )
    if isinstance(repo, str) and repo:
        owner, slash, name = repo.strip().partition("/")
        if (
            not slash
            or not GITHUB_LOGIN.fullmatch(owner)
            or not _REPO_NAME.fullmatch(name)
            or name in {".", ".."}
        ):
            yield f"repo {_quote(repo)} is not of the form owner/name (e.g. example-org/website)"
        elif name.lower().endswith(".git"):
            yield f"repo {_quote(repo)} ends in .git: write owner/name without it"
    senders = raw.get("allowed_senders")
    for entry in senders if isinstance(senders, list) else []:
        problem = _sender_entry(entry)[1] if isinstance(entry, str) and entry else None
        if problem:
            yield f"allowed_senders entry {problem}"
    yield from _opening_problems(raw)
    yield from _credential_problems(raw)
    api_url = raw.get("api_url")
    if isinstance(api_url, str) and api_url:
        yield from _api_url_problems(api_url)
        if "token_secret" not in raw and "github_app" not in raw:
            yield (
                "api_url needs the route's own credential (token_secret or github_app): the "
                "deployment's token is for GITHUB_API_URL and is never sent to another host"
            )


def _opening_problems(raw: Mapping[str, Any]) -> Iterator[str]:
    new, prefix = raw.get("new_issue_address"), raw.get("prefix", "")
    if isinstance(new, str) and new and isinstance(prefix, str):
        local = prefix.strip().lower() + new.strip().lower()
        if _NUMBER.fullmatch(new.strip()):
            yield (
                f"new_issue_address {_quote(new)} is an issue number: {local}@ already names "
                "an issue; use a word such as new"
            )
        elif len(local) > 64:
            yield (
                f"new_issue_address {_quote(new)} makes the local part {_quote(local)} longer "
                "than the 64 characters an address allows"
            )
        elif not _LOCAL_PART.fullmatch(local):
            yield (
                f"new_issue_address {_quote(new)} cannot end an address's local part: use ASCII "
                "letters, digits and characters such as - _ . + (no spaces, no @, no leading, "
                "trailing or doubled dot)"
            )
    labels = raw.get("labels")
    if isinstance(labels, list) and "new_issue_address" not in raw:
        yield "labels apply to issues opened by mail: set new_issue_address too"
    seen: set[str] = set()
    for label in labels if isinstance(labels, list) else []:
        if not isinstance(label, str) or not label:
            continue
        if not label.strip():
            yield f"labels entry {_quote(label)} is blank"
        elif label.strip().lower() in seen:
            # GitHub's label names ignore case: "Bug" and "bug" are one label.
            yield f"labels lists {_quote(label.strip())} twice (label names ignore case)"
        seen.add(label.strip().lower())


def _credential_problems(raw: Mapping[str, Any]) -> Iterator[str]:
    secret, app = raw.get("token_secret"), raw.get("github_app")
    if "token_secret" in raw and "github_app" in raw:
        yield "name token_secret or github_app, not both: a route posts with one credential"
    if isinstance(secret, str) and secret:
        yield from _secret_problems("token_secret", secret)
    if not isinstance(app, Mapping):
        return
    has_id, has_client = "app_id" in app, "client_id" in app
    if has_id and has_client:
        yield "github_app names both app_id and client_id: give one of them"
    elif not has_id and not has_client:
        yield (
            "github_app needs app_id or client_id (both are on the app's settings page; "
            "GitHub recommends the client id)"
        )
    client = app.get("client_id")
    if isinstance(client, str) and client and not _CLIENT_ID.fullmatch(client.strip()):
        yield (
            f"github_app.client_id {_quote(client)} is not a GitHub App client id "
            "(letters, digits and dots, e.g. Iv23liAbCdEf01234567)"
        )
    key = app.get("private_key_secret")
    if isinstance(key, str) and key:
        yield from _secret_problems("github_app.private_key_secret", key)


def _secret_problems(key: str, value: str) -> Iterator[str]:
    text = value.strip()
    if text.startswith("arn:"):
        if not _SECRET_ARN.fullmatch(text):
            yield (
                f"{key} {_quote(value)} is not a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
            )
    elif not _SECRET_NAME.fullmatch(text):
        yield (
            f"{key} {_quote(value)} is not a Secrets Manager secret name (letters, digits and "
            "/_+=.@- only) or ARN"
        )


def _api_url_problems(value: str) -> Iterator[str]:
    quoted = _quote(value)
    try:
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        parts, host = urlsplit(""), ""
    if parts.scheme not in {"https", "http"} or not host:
        yield f"api_url {quoted} is not an https:// URL (e.g. https://github.example.com/api/v3)"
    elif parts.scheme == "http" and host not in _LOOPBACK:
        yield f"api_url {quoted} must use https: the token would cross the network in clear"
    elif parts.username is not None or parts.password is not None:
        yield f"api_url {quoted} holds credentials: name them with token_secret or github_app"
    elif parts.query or parts.fragment:
        yield f"api_url {quoted} has a query or fragment: give the API's base URL only"
    elif host in {"github.com", "www.github.com"}:
        yield (
            f"api_url {quoted} is github.com's web site: its API is "
            "https://api.github.com, the default (leave api_url out)"
        )
    elif parts.path.strip("/") == "" and not host.startswith("api."):
        yield (
            f"api_url {quoted} lacks the API's path: GitHub Enterprise Server's REST API "
            f"is at {parts.scheme}://{parts.netloc}/api/v3"
        )


def _credential(raw: Mapping[str, Any]) -> Credential | None:
    """The route's credential; only called for a route without problems."""
    if "token_secret" in raw:
        return TokenSecret(raw["token_secret"].strip())
    app = raw.get("github_app")
    if app is None:
        return None
    issuer = str(app["app_id"]) if "app_id" in app else app["client_id"].strip()
    return GitHubApp(issuer, app["installation_id"], app["private_key_secret"].strip())


def _api_url(value: str) -> str:
    return value.strip().rstrip("/")


def _domain_hint(domain: str) -> str:
    text = domain.strip()
    if "@" in text or "://" in text or "/" in text:
        return ": write the domain alone, e.g. issues.example.com"
    if text.startswith("[") or text.replace(".", "").isdigit() or ":" in text:
        return ": IP addresses are not accepted"
    return ""


# Cached: a large routes file lists the same sender domains route after route.
@lru_cache(maxsize=4096)
def _sender_entry(entry: str) -> tuple[str, str | None]:
    """The entry in normal form, and what is wrong with it (None when nothing)."""
    text = entry.strip()
    wildcard = text.startswith("*.")
    base = normalize_domain(text[2:] if wildcard else text)
    if base is not None:
        return (f"*.{base}" if wildcard else base), None
    if text == "*":
        hint = "a lone * would let anyone post; write *.example.org for one domain's subdomains"
    elif "@" in text:
        hint = "list the domain only, e.g. example.com, not an address"
    elif wildcard and "." not in text[2:].strip(".") and "*" not in text[2:]:
        hint = "a wildcard must name a domain below a top-level domain, e.g. *.example.org"
    elif "*" in text:
        hint = "a wildcard is written *.example.org and matches its subdomains only"
    else:
        hint = "expected a domain such as example.com or *.example.org"
    return text, f"{_quote(entry)} is not a sender domain: {hint}"


def _conflicts(addresses: list[_Address]) -> list[_Problem]:
    """Routes that claim the same addresses, each reported on the later route of a pair.

    Prefixes ``P`` and ``P + X`` clash when ``X`` could begin an issue number: all digits, not
    starting with 0. So a prefix clashes only with the prefixes its own trailing digits extend:
    looking those up keeps this linear in the number of routes.
    """
    at: dict[tuple[str, str], list[int]] = {}
    for position, route in enumerate(addresses):
        at.setdefault((route.domain, route.prefix), []).append(position)
    pairs: list[tuple[int, int, bool]] = []  # (later, earlier, same prefix)
    for positions in at.values():
        # A third copy of a route is reported against the first, as the second is.
        pairs += [(later, positions[0], True) for later in positions[1:]]
    for position, route in enumerate(addresses):
        digits = len(route.prefix) - len(route.prefix.rstrip("0123456789"))
        for cut in range(len(route.prefix) - digits, len(route.prefix)):
            if route.prefix[cut] == "0":
                continue
            for other in at.get((route.domain, route.prefix[:cut]), ()):
                pairs.append((max(position, other), min(position, other), False))
    problems = _opening_conflicts(addresses, at)
    for later, earlier, same in sorted(set(pairs)):
        route, first = addresses[later], addresses[earlier]
        if same:
            problems.append(
                (
                    route.index,
                    f"{route.label}: same domain and prefix as {first.label}; "
                    "merge them or give one a different prefix",
                )
            )
            continue
        shorter, longer = sorted((first, route), key=lambda r: len(r.prefix))
        rest = longer.prefix[len(shorter.prefix) :]
        example = f"{longer.prefix}2@{route.domain}"
        problems.append(
            (
                route.index,
                f"{route.label}: prefixes {_quote(shorter.prefix)} and "
                f"{_quote(longer.prefix)} on one domain make addresses ambiguous with "
                f"{first.label}: {example} could be issue 2 of route {longer.index} "
                f"or issue {rest}2 of route {shorter.index}",
            )
        )
    return problems


def _opening_conflicts(
    addresses: list[_Address], at: dict[tuple[str, str], list[int]]
) -> list[_Problem]:
    """New-issue addresses that another route's new-issue or issue address also reads."""
    problems: list[_Problem] = []
    opened: dict[tuple[str, str], _Address] = {}
    for route in addresses:
        if route.opening is None:
            continue
        address = f"{route.opening}@{route.domain}"
        first = opened.setdefault((route.domain, route.opening), route)
        if first is not route:
            problems.append(
                (route.index, f"{route.label}: new-issue address {address} is also {first.label}'s")
            )
        for cut in range(len(route.opening)):
            rest = route.opening[cut:]
            if not (_NUMBER.fullmatch(rest) and len(rest) <= 10 and int(rest) <= MAX_ISSUE_NUMBER):
                continue
            for other in at.get((route.domain, route.opening[:cut]), ()):
                owner = addresses[other]
                problems.append(
                    (
                        route.index,
                        f"{route.label}: new-issue address {address} is also the address of "
                        f"issue {int(rest)} of {owner.label}; choose a word that does not end "
                        "in digits",
                    )
                )
    return problems


def _number_hint(rest: str) -> str:
    """Why ``rest`` (what follows the prefix) is no issue number, when a reason helps."""
    number, plus, _ = rest.partition("+")
    if plus and _NUMBER.fullmatch(number):
        return ": +tag subaddresses are not accepted"
    if rest.isascii() and rest.isdigit():
        if rest.strip("0") == "":
            return ": issue numbers start at 1"
        if rest.startswith("0"):
            return ": an issue number has no leading zero"
        return f": issue numbers stop at {MAX_ISSUE_NUMBER}"
    return ""
