"""The webhook function's requests and answers: plain values, and the Function URL's shapes."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import accumulate, repeat
from typing import Any
from urllib.parse import parse_qs

from handler.reasons import Reason

_TEXT = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
# What the webhook reads of a body. GitHub caps a payload at 25 MB, but the events mailed are a
# comment and an issue of at most 65,536 characters each: about 800 KB even with every character
# escaped in JSON. Checked before the HMAC and before any parsing.
MAX_BODY_BYTES = 1024 * 1024
# GitHub's payloads nest five or six levels deep; the limit keeps json's recursion (and the
# RecursionError a thousand "[" would raise) out of reach.
MAX_DEPTH = 32
# GitHub's ids are 64-bit: 20 digits hold any of them. Python parses even 4,300 digits in
# superlinear time.
_MAX_DIGITS = 20
# What a payload holds as nesting: a whole JSON string (whose brackets are text), a bracket, or
# an unterminated string (JSON fails there; the rest is skipped at once, never rescanned).
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*+"|[\[\]{}]|"[\s\S]*')
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}
# A \u escape of a UTF-16 surrogate: only then can json.loads make a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# How much of a client's text (a content type, a method) a detail quotes.
_SHOWN = 40


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


def shown(text: str) -> str:
    """A client's text quoted in a detail: printable ASCII as it is (escapes for the rest), cut
    short, so that neither the answer nor the log line carries what the client chose to put."""
    quoted = ascii(text[: _SHOWN + 1])[1:-1]
    return quoted[:_SHOWN] + ("..." if len(quoted) > _SHOWN else "")


def read_payload(request: Request) -> dict[str, Any] | str:
    """The request's JSON object (application/json, or a form's ``payload=``), or what is wrong
    with the body: not UTF-8, not JSON, nested deeper than MAX_DEPTH, a number longer than any
    id, a key twice, a lone surrogate, or not an object. Linear in the body's size; never
    raises."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(
                text,
                keep_blank_values=True,
                strict_parsing=True,
                max_num_fields=10,
                errors="strict",
            )
        except ValueError:
            return "the form body is malformed"
        found = form.get("payload", [])
        if len(found) != 1:
            return "the form body has no single payload field"
        text = found[0]
    elif content_type != "application/json":
        return f"the content type {shown(content_type) or '(none)'} is not JSON or a form"
    if _depth(text) > MAX_DEPTH:
        return f"the payload nests deeper than {MAX_DEPTH} levels"
    try:
        payload = json.loads(
            text, object_pairs_hook=_object, parse_int=_integer, parse_constant=_no_constant
        )
    except _Unreadable as error:
        return str(error)
    except ValueError:
        return "the payload is not JSON"
    if not isinstance(payload, dict):
        return "the payload is not a JSON object"
    if _SURROGATE_ESCAPE.search(text) and not _encodable(payload):
        return "the payload holds a lone UTF-16 surrogate"
    return payload


class _Unreadable(ValueError):
    """A body that is JSON, but not as GitHub writes it."""


def _depth(text: str) -> int:
    """How deep ``text``'s arrays and objects nest, strings aside (at least as deep as JSON
    would find them)."""
    steps = map(_NESTING.get, _JSON_TOKENS.findall(text), repeat(0))
    return max(accumulate(steps), default=0)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Which of two values counts is a parser's choice: GitHub never writes a key twice.
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Unreadable("the payload has a duplicate key")
    return found


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_DIGITS:
        raise _Unreadable(f"the payload has a number of more than {_MAX_DIGITS} digits")
    return int(digits)


def _no_constant(name: str) -> None:
    # NaN, Infinity and -Infinity, which json.loads takes and JSON does not have.
    raise _Unreadable(f"the payload has {name}, which is not JSON")


def _encodable(payload: dict[str, Any]) -> bool:
    # Nesting is bounded by now: dumps cannot recurse deeply.
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def request_of(event: Mapping[str, Any]) -> Request | Outcome:
    """A Function URL event (payload format 2.0) as a Request, or the 400 answering a body that
    does not decode."""
    http = event.get("requestContext", {}).get("http", {})
    body = event.get("body") or ""
    try:
        # Lambda base64-encodes bodies that are not text by their content type; the signature
        # is over the bytes GitHub sent.
        raw = (
            base64.b64decode(body, validate=True)
            if event.get("isBase64Encoded")
            else body.encode("utf-8")
        )
    except binascii.Error:
        return answer(400, Reason.UNREADABLE_BODY, "the body is not valid base64")
    except UnicodeEncodeError:
        return answer(400, Reason.UNREADABLE_BODY, "the body is not UTF-8")
    return Request(
        method=str(http.get("method", "")).upper(),
        path=str(event.get("rawPath") or "/"),
        query=str(event.get("rawQueryString") or ""),
        headers={
            str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()
        },
        body=raw,
    )


def too_large(request: Request) -> Outcome | None:
    """413 for a body past MAX_BODY_BYTES."""
    if len(request.body) <= MAX_BODY_BYTES:
        return None
    return answer(413, Reason.BODY_TOO_LARGE, f"the body is larger than {MAX_BODY_BYTES} bytes")


def function_url_response(response: Response) -> dict[str, Any]:
    """A Response in the shape a Function URL returns."""
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": response.body,
        "isBase64Encoded": False,
    }
