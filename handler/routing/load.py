"""The routes file read: YAML where routes are written and checked (the CLI, ``make package``),
or the JSON that ``make package`` makes of it, which the Lambda loads without PyYAML."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handler.routing.model import Routes
from handler.routing.validate import RoutesError, RoutesUnreadable, validated_routes

if TYPE_CHECKING:
    from handler.routing.strict_yaml import Places


def load_routes(path: str | os.PathLike[str]) -> Routes:
    """Read and validate the routes file at ``path``: YAML, or the JSON ``make package`` makes
    of it (``.json``), which loads in a hundredth of the time."""
    try:
        # utf-8-sig: editors on Windows save a byte-order mark that is no part of the YAML.
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        reason = error.strerror or str(error)
        raise RoutesUnreadable([f"{path}: cannot read the routes file: {reason}"]) from None
    except UnicodeDecodeError as error:
        raise RoutesUnreadable(
            [f"{path}: the routes file is not UTF-8 text (byte {error.start} is not UTF-8)"]
        ) from None
    if Path(path).suffix.lower() == ".json":
        return validated_routes(_json_document(text, str(path)), str(path))
    return parse_routes(text, str(path))


def parse_routes(text: str, source: str) -> Routes:
    """Validate ``text`` (the YAML of a routes file named ``source`` in messages)."""
    return validated_routes(*_yaml_document(text, source))


def routes_json(text: str, source: str) -> str:
    """The routes file ``text`` as the JSON that the Lambda package carries, once it is valid:
    anchors and merge keys resolved, the ``x-`` keys that held anchors left out, nothing else
    changed (defaults stay defaults: the Lambda merges them as ``check`` does)."""
    document, source, places = _yaml_document(text, source)
    validated_routes(document, source, places)
    kept = {key: value for key, value in document.items() if not str(key).startswith("x-")}
    return json.dumps(kept, ensure_ascii=False, indent=1) + "\n"


def _yaml_document(text: str, source: str) -> tuple[Any, str, Places]:
    try:
        # PyYAML only where routes are written and checked: the Lambda package holds routes.json.
        from handler.routing.strict_yaml import YamlError, load_yaml  # noqa: PLC0415
    except ImportError:
        raise RoutesUnreadable(
            [f"{source}: PyYAML is not installed here; give the routes.json of `make package`"]
        ) from None
    try:
        document, places = load_yaml(text)
    except YamlError as error:
        where = f"{source}:{error.place[0]}:{error.place[1]}" if error.place else source
        raise RoutesError([f"{where}: {error}"]) from None
    return document, source, places


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
        where = f"{source}:{error.lineno}:{error.colno}"
        raise RoutesError([f"{where}: not valid JSON: {error.msg}"]) from None
    except ValueError as error:
        raise RoutesError([f"{source}: not valid JSON: {error}"]) from None
