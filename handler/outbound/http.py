"""The webhook function's requests and answers: plain values, and the Function URL's shapes."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs

from handler.reasons import Reason

_TEXT = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    # The raw query string, without "?".
    query: str
    # Names lowercased.
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: str


@dataclass(frozen=True)
class About:
    """What a request was about, as far as it was read: the fields of its log line."""

    delivery: str | None = None
    event: str | None = None
    repo: str | None = None
    issue: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What a request got and why: the response, and what its one log line says."""

    response: Response
    reason: Reason
    detail: str
    about: About

    @property
    def log(self) -> dict[str, Any]:
        """The log line's fields: never the body, the signature or the link's mac."""
        return {
            "status": self.response.status,
            "reason": self.reason,
            "detail": self.detail,
            **asdict(self.about),
        }


def answer(
    status: int,
    reason: Reason,
    detail: str,
    *,
    allow: str | None = None,
    about: About | None = None,
) -> Outcome:
    """A plain-text answer: ``<reason>: <detail>``."""
    headers = dict(_TEXT) if allow is None else {**_TEXT, "Allow": allow}
    body = f"{reason}: {detail}\n" if detail else f"{reason}\n"
    return Outcome(Response(status, headers, body), reason, detail, about or About())


def read_payload(request: Request) -> dict[str, Any] | str:
    """The request's JSON object (application/json, or a form's ``payload=``), or what is wrong
    with the body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(text, keep_blank_values=True, strict_parsing=True, max_num_fields=10)
        except ValueError:
            return "the form body is malformed"
        found = form.get("payload", [])
        if len(found) != 1:
            return "the form body has no single payload field"
        text = found[0]
    elif content_type != "application/json":
        return f"the content type {content_type or '(none)'} is not JSON or a form"
    try:
        payload = json.loads(text)
    except ValueError:
        return "the payload is not JSON"
    if not isinstance(payload, dict):
        return "the payload is not a JSON object"
    return payload


def request_of(event: Mapping[str, Any]) -> Request:
    """A Function URL event (payload format 2.0) as a Request."""
    http = event.get("requestContext", {}).get("http", {})
    body = event.get("body") or ""
    # Lambda base64-encodes bodies that are not text by their content type; the signature is
    # over the bytes GitHub sent.
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    return Request(
        method=str(http.get("method", "")).upper(),
        path=event.get("rawPath") or "/",
        query=event.get("rawQueryString") or "",
        headers={str(name).lower(): str(value) for name, value in event.get("headers", {}).items()},
        body=raw,
    )


def function_url_response(response: Response) -> dict[str, Any]:
    """A Response in the shape a Function URL returns."""
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": response.body,
        "isBase64Encoded": False,
    }
