"""A parsed routes file made Routes, or refused with every problem at once, each naming the file,
the place in it (``routes.yaml:LINE:COL``, for YAML), the route (``route N (prefix@domain)``,
numbered from 1) and the key: the JSON Schema (routes.schema.json) first, then what it cannot
see (handler.routing.checks, handler.routing.conflicts).

``defaults:`` holds route keys that every route takes unless it gives the key itself: a route's
own value wins whole (a list or a mapping replaces the default, it is not merged with it).
Top-level keys starting with ``x-`` are ignored: they hold YAML anchors for routes to use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from handler.routing.attachments import attachment_settings
from handler.routing.checks import (
    api_url,
    cc_domains,
    credential,
    max_age,
    opening,
    route_problems,
    sender_entry,
    valid_prefix,
)
from handler.routing.conflicts import Address, conflicts
from handler.routing.domains import normalize_domain
from handler.routing.errors import RoutesError
from handler.routing.model import Route, Routes, quoted, route_label
from handler.routing.templates import contact, notice_texts

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

    from handler.routing.strict_yaml import Place, Places

# The keys that name a route, or that no two routes may share: never in defaults.
PER_ROUTE_KEYS = ("domain", "prefix", "repo", "name", "new_issue_address")
_DEFAULTS = "defaults"
_ANCHORS = "x-"


@dataclass(frozen=True)
class _Found:
    """A problem: the index of the route it is in (None: the file as a whole, or defaults),
    the key path in the document that says where, and what is wrong."""

    index: int | None
    path: tuple[str | int, ...]
    message: str
    # The place of the path's last key itself (an unknown key), not of its value.
    key: bool = False


def validated_routes(
    document: Any,  # noqa: ANN401 - whatever the file held
    source: str,
    places: Places | None = None,
) -> Routes:
    """The routes of ``document`` (the routes file named ``source`` in messages, as YAML or JSON
    read it), or RoutesError; ``places`` (YAML only) puts each problem's line and column in it."""

    def place(path: tuple[str | int, ...] = (), *, key: bool = False) -> Place | None:
        return places.find(path, key=key) if places is not None else None

    def where(path: tuple[str | int, ...] = (), *, key: bool = False) -> str:
        found = place(path, key=key)
        return f"{source}:{found[0]}:{found[1]}" if found else source

    if document is None:
        raise RoutesError(
            [f"{source}: the file is empty; it needs a routes key holding a list of routes"]
        )
    if not isinstance(document, Mapping):
        shape = _describe(document)
        raise RoutesError(
            [f"{where()}: the top level must be a mapping with a routes key, not {shape}"]
        )
    defaults = _shared(document.get(_DEFAULTS))
    effective = document
    raw_routes = document.get("routes")
    if defaults and isinstance(raw_routes, list):
        merged = [defaults | dict(raw) if isinstance(raw, Mapping) else raw for raw in raw_routes]
        effective = {**document, "routes": merged}
    found, broken = _schema_errors(effective, document, defaults, source)
    routes: list[Route] = []
    if defaults:
        found += _defaults_problems(defaults)
    if isinstance(raw_routes, list):
        routes, more = _build(effective["routes"], raw_routes, defaults, broken)
        found += more
    if found:
        # Errors about the whole file and defaults first, then route by route, each in the
        # order of the text (sorted() is stable: without places, in the order found).
        ordered = sorted(
            found,
            key=lambda p: (-1 if p.index is None else p.index, place(p.path, key=p.key) or (0, 0)),
        )
        raise RoutesError([f"{where(p.path, key=p.key)}: {p.message}" for p in ordered])
    return Routes(tuple(routes), source)


def _shared(value: Any) -> dict[str, Any]:  # noqa: ANN401 - whatever defaults held
    """The defaults routes take: none unless ``defaults`` is a mapping, and never a key that
    names a route (the schema reports those)."""
    if not isinstance(value, Mapping):
        return {}
    return {key: item for key, item in value.items() if key not in PER_ROUTE_KEYS}


def _inherited(raw: Any, defaults: Mapping[str, Any]) -> set[str]:  # noqa: ANN401
    """The keys a route takes from defaults."""
    own = raw if isinstance(raw, Mapping) else {}
    return {key for key in defaults if key not in own}


def _defaults_problems(defaults: Mapping[str, Any]) -> list[_Found]:
    """What the schema cannot see in the defaults' values. What depends on other keys of a
    route (labels without new_issue_address) is the route's problem, reported with it."""
    return [
        _Found(None, (_DEFAULTS, *problem.path), f"{_DEFAULTS}: {problem.message}")
        for problem in route_problems(defaults)
        if problem.path
    ]


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (Path(__file__).parent / "routes.schema.json").read_text("utf-8")
    )
    # defaults takes every route key but those that name a route, whatever keys routes gain.
    schema["$defs"][_DEFAULTS] = shared_keys_schema(schema)
    return schema


def shared_keys_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of ``defaults:``: the route's keys, each as the route's schema has it, but
    those that name a route; none required."""
    keys = [key for key in schema["$defs"]["route"]["properties"] if key not in PER_ROUTE_KEYS]
    return {
        "description": "Route keys every route takes unless it gives the key itself.",
        "type": "object",
        "additionalProperties": False,
        "properties": {key: {"$ref": f"#/$defs/route/properties/{key}"} for key in keys},
    }


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


def _schema_errors(
    effective: Mapping[str, Any],
    document: Mapping[str, Any],
    defaults: Mapping[str, Any],
    source: str,
) -> tuple[list[_Found], set[int]]:
    """Each schema violation of ``effective`` (the file, its routes merged with defaults) in
    plain words, and the indexes of the routes with any. A value a route takes from defaults is
    reported once, as the defaults' own."""
    try:
        _fast_validator()(effective)
    except fastjsonschema.JsonSchemaValueException as error:
        first = error
    else:
        return [], set()
    try:
        validator = _validator()
    except ImportError:
        # The Lambda package ships fastjsonschema alone: its first error, and where to see all.
        # Nothing more can be checked of a file whose shape is not known to be right.
        # Its messages name the document "data": "data.routes[0] must contain ...".
        message = re.sub(r"^data\b", "the file", re.sub(r"^data\.", "", first.message))
        hint = "`ticket-router check` lists every error"
        raise RoutesError([f"{source}: {message} ({hint})"]) from None
    errors = sorted(validator.iter_errors(effective), key=lambda e: [str(p) for p in e.path])
    broken = {
        error.absolute_path[1]
        for error in errors
        if len(error.absolute_path) >= 2 and error.absolute_path[0] == "routes"
    }
    explained = (problem for error in errors for problem in _explain(error, document, defaults))
    # "required" yields one error per missing key, all worded alike here: keep each once.
    found = list(dict.fromkeys(explained))
    return found, {index for index in broken if isinstance(index, int)}


def _explain(
    error: ValidationError, document: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[_Found]:
    """The error in words, where it is; nothing for one in a value a route takes from defaults
    (reported as the defaults' own)."""
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "routes" and isinstance(path[1], int):
        index = path[1]
        raw = document["routes"][index]
        inherited = _inherited(raw, defaults)
        if len(path) > 2 and path[2] in inherited:
            return []
        label = _raw_label(raw, index)
        if error.validator == "additionalProperties" and len(path) == 2:
            unknown = [key for key in _unknown(error) if key not in inherited]
            if not unknown:
                return []
            message = _unknown_keys(error, [], unknown)
            return [_Found(index, (*path, unknown[0]), f"{label}: {message}", key=True)]
        return [_Found(index, tuple(path), f"{label}: {_plain(error, path[2:], 'the route')}")]
    if path == [_DEFAULTS] and error.validator == "additionalProperties":
        return _defaults_keys(error)
    if len(path) > 1 and path[0] == _DEFAULTS:
        return [_Found(None, tuple(path), f"{_DEFAULTS}: {_plain(error, path[1:], _DEFAULTS)}")]
    if error.validator == "additionalProperties" and not path:
        unknown = [key for key in _unknown(error) if not str(key).startswith(_ANCHORS)]
        message = _unknown_keys(error, [], unknown)
        hint = f" (keys starting with {_ANCHORS} are ignored: they hold YAML anchors)"
        return [_Found(None, (unknown[0],), message + hint, key=True)]
    return [_Found(None, tuple(path), _plain(error, path, "routes"))]


def _unknown(error: ValidationError) -> list[Any]:
    """The keys of the mapping an additionalProperties error is about that its schema lacks, in
    the order written."""
    # jsonschema types these as unions with its own sentinels; here they are plain JSON values.
    instance: Any = error.instance
    schema: Any = error.schema
    return [key for key in instance if key not in schema.get("properties", {})]


def _defaults_keys(error: ValidationError) -> list[_Found]:
    """Keys defaults cannot hold: those that name a route, and those no route has."""
    found = []
    wrong = _unknown(error)
    per_route = [key for key in wrong if key in PER_ROUTE_KEYS]
    if per_route:
        found.append(
            _Found(
                None,
                (_DEFAULTS, per_route[0]),
                f"{_DEFAULTS}: {' and '.join(per_route)} cannot be a default: each route gives "
                f"its own {', '.join(PER_ROUTE_KEYS[:-1])} and {PER_ROUTE_KEYS[-1]}",
                key=True,
            )
        )
    unknown = [key for key in wrong if key not in PER_ROUTE_KEYS]
    if unknown:
        message = f"{_DEFAULTS}: {_unknown_keys(error, [], unknown)}"
        found.append(_Found(None, (_DEFAULTS, unknown[0]), message, key=True))
    return found


def _unknown_keys(error: ValidationError, path: list[str | int], unknown: list[Any]) -> str:
    """Keys the schema does not know, with a guess at the key meant where one is close."""
    from difflib import get_close_matches  # noqa: PLC0415 - only for a misspelt key

    schema: Any = error.schema
    within = f"{_key_path(path)}: " if path else ""
    known = sorted(schema.get("properties", {}))
    named = []
    for key in sorted(unknown, key=str):
        close = get_close_matches(str(key), known, n=1, cutoff=0.6)
        named.append(f"{key}" + (f" (did you mean {close[0]}?)" if close else ""))
    plural = "s" if len(unknown) > 1 else ""
    return f"{within}unknown key{plural} {', '.join(named)}; the known keys are " + ", ".join(known)


def _plain(error: ValidationError, path: list[str | int], whole: str) -> str:
    subject = _key_path(path) or whole
    # jsonschema types these as unions with its own sentinels; here they are plain JSON values.
    instance: Any = error.instance
    expected: Any = error.validator_value
    # Keys missing or unknown in a mapping within the route (github_app) are named with it.
    within = f"{_key_path(path)}: " if path else ""
    if error.validator == "required":
        missing = [key for key in expected if key not in instance]
        keys = " and ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        return f"{within}the required key{plural} {keys} {_is_are(missing)} missing"
    if error.validator == "additionalProperties":
        return _unknown_keys(error, path, _unknown(error))
    if error.validator == "type" and path and path[-1] == "max_age":
        return f"max_age must be a duration such as 7d or 36h, not {_describe(instance)}"
    if error.validator == "type" and path and path[-1] == "cc_participants":
        return (
            "cc_participants must be true, false or a list of sender domains, "
            f"not {_describe(instance)}"
        )
    if error.validator == "type" and path and path[-1] == "attachments":
        return f"attachments must be list, link or a mapping, not {_describe(instance)}"
    if error.validator == "type" and path and path[-1] in {"max_file_size", "max_mail_size"}:
        return f"{subject} must be a size such as 10MB, not {_describe(instance)}"
    if error.validator == "enum":
        return f"{subject} must be {' or '.join(expected)}, not {_describe(instance)}"
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
        if path and path[-1] == "cc_participants":
            return (
                "cc_participants is empty: write true (the allowed_senders domains join) or "
                "false, or list the domains that join besides"
            )
        if path and path[-1] == "labels":
            return "labels is empty: list at least one label, or leave labels out"
        if path and path[-1] == "types":
            return f"{subject} is empty: list at least one type, or leave types out"
        return f"{subject} is empty: list at least one route"
    if error.validator == "minimum":
        return f"{subject} must be at least {expected}, not {_describe(instance)}"
    if error.validator == "maximum":
        return f"{subject} must be at most {expected}, not {_describe(instance)}"
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
        return f"route {index + 1}"
    domain = normalize_domain(raw["domain"]) or raw["domain"].strip().lower()
    prefix = raw.get("prefix")
    return route_label(index, domain, prefix.strip().lower() if isinstance(prefix, str) else "")


def _build(
    merged: list[Any], written: list[Any], defaults: Mapping[str, Any], broken: set[int]
) -> tuple[list[Route], list[_Found]]:
    """Routes from the valid entries (``merged``: as ``written``, with defaults), and every
    problem the schema cannot see."""
    routes: list[Route] = []
    addresses: list[Address] = []
    found: list[_Found] = []
    for index, raw in enumerate(merged):
        if not isinstance(raw, Mapping):
            continue
        problems = list(route_problems(raw))
        if problems:
            label = _raw_label(raw, index)
            inherited = _inherited(written[index], defaults)
            found += [
                _Found(index, ("routes", index, *problem.path), f"{label}: {problem.message}")
                for problem in problems
                # A default's value is reported once, as the defaults' own.
                if not (problem.path and problem.path[0] in inherited)
            ]
        domain = normalize_domain(raw["domain"]) if isinstance(raw.get("domain"), str) else None
        prefix = raw.get("prefix", "")
        prefix = prefix.strip().lower() if isinstance(prefix, str) else None
        if domain is not None and prefix is not None and valid_prefix(prefix):
            new = opening(prefix, raw.get("new_issue_address"))
            addresses.append(Address(index, domain, prefix, new))
        if problems or index in broken or domain is None or prefix is None:
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
                cc_participants=raw.get("cc_participants", True) is not False,
                cc_domains=cc_domains(raw),
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
                attachments=attachment_settings(raw),
            )
        )
    found += [_Found(index, ("routes", index), message) for index, message in conflicts(addresses)]
    return routes, found
