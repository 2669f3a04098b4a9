"""routes.yaml: load, validate, look up.

Pure apart from ``load_routes`` reading the file. The rules, in the order a lookup applies them:

1. An address is ``<local>@<domain>``; matching is case-insensitive and the domain is compared in
   normal form (lowercase, IDN as ``xn--``; see handler.domains).
2. Among the routes for the domain, the longest prefix that starts the local part wins.
3. What follows the prefix must be the issue number: decimal digits, no sign, no leading zero,
   at most 2147483647 (GitHub issue numbers are 32-bit). Anything else (``7+tag``, ``007``,
   ``help``) is refused rather than guessed.

Validation happens once, at load, and reports every problem at once, each naming the file, the
route (index and ``prefix@domain``) and the key. Besides the JSON Schema
(``routes.schema.json``) it rejects what a schema cannot see: duplicate YAML keys, malformed
domains and repositories, two routes for one domain and prefix, and prefixes that make an address
ambiguous (``v`` and ``v1``: is ``v12`` issue 2 of one or issue 12 of the other?).

``allowed_senders``: ``example.com`` matches exactly that domain; ``*.example.org`` matches any
subdomain of example.org but not example.org itself (list both to allow both). Nothing else
matches: ``evilexample.com`` and ``example.com.evil.net`` never match ``example.com``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError

from handler.domains import is_subdomain, normalize_domain

MAX_ISSUE_NUMBER = 2**31 - 1

_NUMBER = re.compile(r"[1-9][0-9]*")
# RFC 5322 atext and dots: what a prefix may hold and still form an unquoted local part.
_PREFIX = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\.?$")
# GitHub's rules: owners are alphanumeric with single inner hyphens, up to 39 characters.
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class Route:
    index: int
    domain: str
    prefix: str
    repo: str
    allowed_senders: tuple[str, ...]
    name: str | None = None
    keep_quoted: bool = True

    @property
    def label(self) -> str:
        """How messages name this route: ``route 2 (web-@issues.example.com)``."""
        where = f"{self.prefix}@{self.domain}" if self.prefix else self.domain
        return f"route {self.index} ({where})"


@dataclass(frozen=True)
class Target:
    route: Route
    issue: int


@dataclass(frozen=True)
class Miss:
    """Why an address maps to no issue: ``no-route``, ``invalid-issue-number``,
    ``invalid-address``."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Routes:
    routes: tuple[Route, ...]
    source: str

    @property
    def domains(self) -> tuple[str, ...]:
        """The recipient domains, each once, in file order."""
        return tuple(dict.fromkeys(route.domain for route in self.routes))

    def lookup(self, address: str) -> Target | Miss:
        """The issue ``address`` names, or why it names none."""
        text = address.strip().strip("<>").strip()
        local, at, raw_domain = text.rpartition("@")
        if not at or not local or local.startswith('"'):
            return Miss("invalid-address", f"{text!r} is not a plain mailbox address")
        domain = normalize_domain(raw_domain)
        if domain is None:
            return Miss("invalid-address", f"{raw_domain!r} is not a valid domain")
        candidates = [route for route in self.routes if route.domain == domain]
        if not candidates:
            return Miss("no-route", f"no route for the domain {domain}")
        local = local.lower()
        for route in sorted(candidates, key=lambda r: len(r.prefix), reverse=True):
            if local.startswith(route.prefix):
                number = local[len(route.prefix) :]
                if _NUMBER.fullmatch(number) and int(number) <= MAX_ISSUE_NUMBER:
                    return Target(route, int(number))
                break
        examples = " or ".join(f"{route.prefix}123" for route in candidates)
        return Miss(
            "invalid-issue-number",
            f"{local!r} is not <prefix><issue number> for {domain} (expected e.g. {examples})",
        )


class RoutesError(Exception):
    """The routes file cannot be used; ``errors`` holds every problem found, one per line."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = tuple(errors)


def load_routes(path: str | os.PathLike[str]) -> Routes:
    """Read and validate the routes file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RoutesError(
            [f"{path}: cannot read the routes file: {error.strerror or error}"]
        ) from None
    except UnicodeDecodeError:
        raise RoutesError([f"{path}: the routes file is not UTF-8 text"]) from None
    return parse_routes(text, str(path))


def parse_routes(text: str, source: str) -> Routes:
    """Validate ``text`` (the YAML of a routes file named ``source`` in messages)."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "unreadable YAML"
        raise RoutesError([f"{source}: {where}not valid YAML: {problem}"]) from None
    except yaml.YAMLError as error:
        raise RoutesError([f"{source}: not valid YAML: {error}"]) from None
    if document is None:
        raise RoutesError([f"{source}: the file is empty; it needs a `routes:` list"])
    if not isinstance(document, Mapping):
        raise RoutesError([f"{source}: the top level must be a mapping with a `routes:` list"])
    schema_errors = _schema_errors(document)
    broken = {index for index, _ in schema_errors if index is not None}
    problems = [message for _, message in schema_errors]
    routes: list[Route] = []
    if isinstance(document.get("routes"), list):
        routes, route_problems = _build(document["routes"], broken)
        problems += route_problems
    if problems:
        problems.sort(key=_route_order)
        raise RoutesError([f"{source}: {message}" for message in problems])
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


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'the key "{key}" appears twice in one mapping', key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads((Path(__file__).parent / "routes.schema.json").read_text())
    return Draft202012Validator(schema)


def _schema_errors(document: Mapping[str, Any]) -> list[tuple[int | None, str]]:
    """Each schema violation in plain words, with the index of the route it is in (if any)."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [_explain(error, document) for error in errors]


def _explain(error: ValidationError, document: Mapping[str, Any]) -> tuple[int | None, str]:
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "routes" and isinstance(path[1], int):
        index: int | None = path[1]
        label = _route_label(document["routes"][path[1]], path[1])
        return index, f"{label}: {_plain(error, path[2:], 'the route')}"
    return None, _plain(error, path, "`routes`")


def _plain(error: ValidationError, path: list[str | int], whole: str) -> str:
    key = ".".join(str(part) for part in path)
    subject = f"`{key}`" if key else whole
    # jsonschema types these as unions with its own sentinels; here they are plain JSON values.
    instance: Any = error.instance
    expected: Any = error.validator_value
    schema: Any = error.schema
    if error.validator == "required":
        missing = next(iter(set(expected) - set(instance)), "?")
        return f"the required key `{missing}` is missing"
    if error.validator == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        unknown = sorted(set(instance) - set(known), key=str)
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            hints.append(f"`{name}`{hint}")
        return f"unknown key {', '.join(hints)}; known keys: {', '.join(known)}"
    if error.validator == "type":
        names = {
            "string": "text",
            "array": "a list",
            "object": "a mapping",
            "boolean": "true or false",
        }
        wanted = names.get(str(expected), str(expected))
        hint = " (quote it)" if wanted == "text" and instance is not None else ""
        return f"{subject} must be {wanted}, not {_describe(instance)}{hint}"
    if error.validator == "minItems":
        if key == "allowed_senders":
            return "`allowed_senders` is empty: list at least one sender domain"
        return f"{subject} is empty: list at least one route"
    if error.validator in {"minLength", "maxLength"}:
        return f"{subject} is {'empty' if not instance else 'too long'}"
    return f"{subject}: {error.message}"


def _route_order(message: str) -> int:
    """Errors about the whole file first, then route by route (the sort is stable)."""
    found = re.match(r"route (\d+)", message)
    return int(found.group(1)) + 1 if found else 0


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
    return repr(value)


def _route_label(raw: Any, index: int) -> str:  # noqa: ANN401 - an unvalidated route
    if not isinstance(raw, Mapping):
        return f"route {index}"
    domain, prefix = raw.get("domain"), raw.get("prefix")
    if not isinstance(domain, str):
        return f"route {index}"
    where = f"{prefix}@{domain}" if isinstance(prefix, str) and prefix else domain
    return f"route {index} ({where.strip().lower()})"


def _build(raw_routes: list[Any], broken: set[int]) -> tuple[list[Route], list[str]]:
    """Routes from the schema-valid entries, and every problem the schema cannot see."""
    routes: list[Route] = []
    problems: list[str] = []
    for index, raw in enumerate(raw_routes):
        if not isinstance(raw, Mapping):
            continue
        label = _route_label(raw, index)
        found = list(_route_problems(raw))
        problems += [f"{label}: {message}" for message in found]
        if found or index in broken:
            continue
        routes.append(
            Route(
                index=index,
                domain=normalize_domain(raw["domain"]) or "",
                prefix=raw.get("prefix", "").strip().lower(),
                repo=raw["repo"].strip(),
                allowed_senders=tuple(_sender_entry(entry)[0] for entry in raw["allowed_senders"]),
                name=raw.get("name"),
                keep_quoted=raw.get("keep_quoted", True),
            )
        )
    problems += _conflicts(routes)
    return routes, problems


def _route_problems(raw: Mapping[str, Any]) -> Iterator[str]:
    """What the schema cannot see, for every key that at least has the right type."""
    domain, prefix, repo = raw.get("domain"), raw.get("prefix", ""), raw.get("repo")
    if isinstance(domain, str) and normalize_domain(domain) is None:
        yield f'`domain` "{domain}" is not a valid domain name'
    if isinstance(prefix, str) and prefix.strip() and not _PREFIX.match(prefix.strip().lower()):
        yield (
            f'`prefix` "{prefix}" cannot start an address: use letters, digits and '
            "characters such as - _ . + (no spaces, no @)"
        )
    if isinstance(repo, str):
        owner, slash, name = repo.strip().partition("/")
        if (
            not slash
            or not _OWNER.match(owner)
            or not _REPO_NAME.match(name)
            or name in {".", ".."}
        ):
            yield f'`repo` "{repo}" is not of the form owner/name (e.g. example-org/website)'
        elif name.lower().endswith(".git"):
            yield f'`repo` "{repo}" ends in .git: write owner/name without it'
    senders = raw.get("allowed_senders")
    for entry in senders if isinstance(senders, list) else []:
        problem = _sender_entry(entry)[1] if isinstance(entry, str) else None
        if problem:
            yield f"`allowed_senders` entry {problem}"


def _sender_entry(entry: str) -> tuple[str, str | None]:
    """The entry in normal form, and what is wrong with it (None when nothing)."""
    text = entry.strip()
    wildcard = text.startswith("*.")
    base = normalize_domain(text[2:] if wildcard else text)
    if base is not None:
        return (f"*.{base}" if wildcard else base), None
    if "@" in text:
        hint = "list the domain only, e.g. example.com"
    elif text.startswith("*"):
        hint = "a wildcard is written *.example.org and matches subdomains only"
    else:
        hint = "expected a domain such as example.com or *.example.org"
    return text, f'"{entry}" is not a sender domain: {hint}'


def _conflicts(routes: list[Route]) -> list[str]:
    problems = []
    for position, route in enumerate(routes):
        for earlier in routes[:position]:
            if earlier.domain != route.domain:
                continue
            if earlier.prefix == route.prefix:
                problems.append(
                    f"{route.label}: same domain and prefix as {earlier.label}; "
                    "merge them or give one a different prefix"
                )
                continue
            shorter, longer = sorted((earlier, route), key=lambda r: len(r.prefix))
            rest = longer.prefix[len(shorter.prefix) :]
            # "v" and "v1": v12 is issue 2 of one or issue 12 of the other. A rest starting
            # with 0 cannot begin an issue number, so "x" and "x0" stay unambiguous.
            if longer.prefix.startswith(shorter.prefix) and rest.isdigit() and rest[0] != "0":
                problems.append(
                    f"{route.label}: prefixes {shorter.prefix!r} and {longer.prefix!r} on one "
                    f"domain make addresses ambiguous with {earlier.label}: is "
                    f"{longer.prefix}2@{route.domain} issue 2 of {longer.repo} or issue "
                    f"{rest}2 of {shorter.repo}?"
                )
    return problems
