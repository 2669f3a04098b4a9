"""The routes file read: YAML where routes are written and checked (the CLI, ``make package``),
or the routes.json that ``make package`` makes of it, which the functions load without PyYAML
and without validating again (handler.routing.packaged)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handler.routing.errors import RoutesError, RoutesUnreadable
from handler.routing.model import Routes
from handler.routing.packaged import packaged_text, read_packaged

if TYPE_CHECKING:
    from handler.routing.strict_yaml import Places


def load_routes(path: str | os.PathLike[str]) -> Routes:
    """Read the routes file at ``path``: YAML, validated, or the routes.json ``make package``
    made of it (``.json``), validated then and only checked to be that file now."""
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
        return read_packaged(text, str(path))
    return parse_routes(text, str(path))


def parse_routes(text: str, source: str) -> Routes:
    """Validate ``text`` (the YAML of a routes file named ``source`` in messages)."""
    from handler.routing.validate import validated_routes  # noqa: PLC0415 - not in the Lambda

    return validated_routes(*_yaml_document(text, source))


def routes_json(text: str, source: str) -> str:
    """The routes.json that the Lambda package carries for the routes file ``text``, once it is
    valid (RoutesError otherwise): its routes, indexed by domain (handler.routing.packaged)."""
    return packaged_text(parse_routes(text, source))


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
