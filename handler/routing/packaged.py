"""routes.json: the routes as ``make package`` writes them once valid, for the functions to
read without validating them again, and decoded domain by domain as mail arrives for each.

The first line names the format and holds the SHA-256 of the rest: a file that is not what
``routes_json`` wrote, or that was changed since, is refused, never trusted unvalidated.
The whole file is JSON: ``{"format", "routes", "sha256", "domains": {domain: rows}}``, each
domain's rows one JSON text (a list of routes, each with the keys that differ from Route's
defaults), so that loading decodes no route.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any

from handler.attachments.model import AttachmentSettings
from handler.reasons import Reason
from handler.routing.errors import RoutesError
from handler.routing.model import Credential, GitHubApp, Route, Routes, TokenSecret

# Changed whenever what a row holds changes: a zip is read by the code it was built with, but
# a routes.json copied from another version must be refused, not misread.
FORMAT = "ticket-router routes 3"
_DEFAULTS = {field.name: field.default for field in fields(Route) if field.default is not MISSING}
_ATTACHMENT_DEFAULTS = AttachmentSettings()


def packaged_text(routes: Routes) -> str:
    """The text of routes.json for ``routes``, which must have been validated."""
    domains: dict[str, list[dict[str, Any]]] = {}
    for route in routes.routes:
        domains.setdefault(route.domain, []).append(_row(route))
    rows = {
        domain: json.dumps(found, ensure_ascii=False, separators=(",", ":"))
        for domain, found in domains.items()
    }
    body = f'"domains": {json.dumps(rows, ensure_ascii=False, indent=0)}}}\n'
    head = {"format": FORMAT, "routes": len(routes.routes), "sha256": _digest(body)}
    # The head's closing brace becomes the comma before "domains": one JSON object in all.
    return json.dumps(head)[:-1] + ",\n" + body


def read_packaged(text: str, source: str) -> Routes:
    """The routes of routes.json's ``text`` (``source`` names it in errors), or RoutesError."""
    head, _, body = text.partition("\n")
    try:
        header = json.loads(head.removesuffix(",") + "}")
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RoutesError(
            [
                f"{source}: not a routes.json of this version's `make package` (format "
                f"{FORMAT!r}): give the routes.yaml, or package it again"
            ]
        )
    if header.get("sha256") != _digest(body):
        raise RoutesError(
            [
                f"{source}: changed since `make package` wrote it (its SHA-256 differs): "
                "edit the routes.yaml and package it again"
            ]
        )
    domains: dict[str, str] = json.loads(text)["domains"]
    return Routes.packaged(
        {domain: _decoder(domain, rows) for domain, rows in domains.items()}, source
    )


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _row(route: Route) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field in fields(Route):
        value = getattr(route, field.name)
        if field.name == "domain" or _DEFAULTS.get(field.name, MISSING) == value:
            continue
        if isinstance(value, TokenSecret | GitHubApp):
            value = {item.name: getattr(value, item.name) for item in fields(value)}
        elif isinstance(value, AttachmentSettings):
            value = {
                item.name: getattr(value, item.name)
                for item in fields(value)
                if getattr(value, item.name) != getattr(_ATTACHMENT_DEFAULTS, item.name)
            }
        row[field.name] = value
    return row


def _decoder(domain: str, rows: str) -> Callable[[], list[Route]]:
    return lambda: [_route(domain, row) for row in json.loads(rows)]


def _route(domain: str, row: dict[str, Any]) -> Route:
    credential = row.pop("credential", None)
    attachments = row.pop("attachments", None)
    return Route(
        domain=domain,
        allowed_senders=tuple(row.pop("allowed_senders")),
        labels=tuple(row.pop("labels", ())),
        cc_domains=tuple(row.pop("cc_domains", ())),
        notices=tuple((Reason(reason), text) for reason, text in row.pop("notices", ())),
        credential=_credential(credential) if credential is not None else None,
        attachments=_attachments(attachments) if attachments is not None else _ATTACHMENT_DEFAULTS,
        **row,
    )


def _credential(value: dict[str, Any]) -> Credential:
    return GitHubApp(**value) if "issuer" in value else TokenSecret(**value)


def _attachments(value: dict[str, Any]) -> AttachmentSettings:
    # JSON has no tuples: the types come back as a list.
    if "types" in value:
        value["types"] = tuple(value["types"])
    return AttachmentSettings(**value)
