"""A parsed routes file made Routes, or refused with every problem at once, each naming the file,
the route (index and ``prefix@domain``) and the key: the JSON Schema (routes.schema.json) first,
then what it cannot see (handler.routing.checks, handler.routing.conflicts)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from handler.routing.checks import (
    api_url,
    credential,
    max_age,
    opening,
    route_problems,
    sender_entry,
    valid_prefix,
)
from handler.routing.conflicts import Address, conflicts
from handler.routing.domains import normalize_domain
from handler.routing.model import Route, Routes, quoted, route_label
from handler.routing.templates import contact, notice_texts

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

# A problem and the index of the route it is in (None: the file as a whole).
_Problem = tuple[int | None, str]


class RoutesError(Exception):
    """The routes file cannot be used; ``errors`` holds every problem found, one per line."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


def validated_routes(document: Any, source: str) -> Routes:  # noqa: ANN401 - whatever the file held
    """The routes of ``document`` (the routes file named ``source`` in messages, as YAML or JSON
    read it), or RoutesError."""
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
    if error.validator == "type" and path and path[-1] == "max_age":
        return f"max_age must be a duration such as 7d or 36h, not {_describe(instance)}"
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
        return quoted(value)
    # YAML reads an unquoted 2024-01-01 as a date, for one.
    return f"the {type(value).__name__} {value}"


def _raw_label(raw: Any, index: int) -> str:  # noqa: ANN401 - an unvalidated route
    """The route's label from whatever the file holds, in normal form where it can be."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("domain"), str):
        return f"route {index}"
    domain = normalize_domain(raw["domain"]) or raw["domain"].strip().lower()
    prefix = raw.get("prefix")
    return route_label(index, domain, prefix.strip().lower() if isinstance(prefix, str) else "")


def _build(raw_routes: list[Any], broken: set[int]) -> tuple[list[Route], list[_Problem]]:
    """Routes from the valid entries, and every problem the schema cannot see."""
    routes: list[Route] = []
    addresses: list[Address] = []
    problems: list[_Problem] = []
    for index, raw in enumerate(raw_routes):
        if not isinstance(raw, Mapping):
            continue
        found = list(route_problems(raw))
        if found:
            label = _raw_label(raw, index)
            problems += [(index, f"{label}: {message}") for message in found]
        domain = normalize_domain(raw["domain"]) if isinstance(raw.get("domain"), str) else None
        prefix = raw.get("prefix", "")
        prefix = prefix.strip().lower() if isinstance(prefix, str) else None
        if domain is not None and prefix is not None and valid_prefix(prefix):
            new = opening(prefix, raw.get("new_issue_address"))
            addresses.append(Address(index, domain, prefix, new))
        if found or index in broken or domain is None or prefix is None:
            continue
        routes.append(
            Route(
                index=index,
                domain=domain,
                prefix=prefix,
                repo=raw["repo"].strip(),
                allowed_senders=tuple(sender_entry(entry)[0] for entry in raw["allowed_senders"]),
                name=raw.get("name"),
                keep_quoted=raw.get("keep_quoted", True),
                show_sender_address=raw.get("show_sender_address", False),
                notify=raw.get("notify", True),
                confirm=raw.get("confirm", False),
                notify_participants=raw.get("notify_participants", False),
                new_issue_address=(
                    prefix + raw["new_issue_address"].strip().lower()
                    if "new_issue_address" in raw
                    else None
                ),
                labels=tuple(label.strip() for label in raw.get("labels", ())),
                credential=credential(raw),
                api_url=api_url(raw["api_url"]) if "api_url" in raw else None,
                allow_bcc=raw.get("allow_bcc", False),
                max_age=max_age(raw),
                notices=notice_texts(raw),
                contact=contact(raw),
            )
        )
    problems += conflicts(addresses)
    return routes, problems
