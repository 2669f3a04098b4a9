"""A Lambda function behind a real HTTP server on 127.0.0.1, as its Function URL serves it: each
request becomes a Function URL event (payload format 2.0, tests/events/functionUrlEvent.json's
shape), and the function's answer the HTTP response.

As the Function URL does, a body that is not text (a form post among them) reaches the function
base64-encoded, header names lowercased, repeated headers joined with commas."""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import TESTS

Handler = Callable[[dict[str, Any]], dict[str, Any]]

_SAMPLE: dict[str, Any] = json.loads((TESTS / "events" / "functionUrlEvent.json").read_text())
# What the Function URL passes on as text; any other body is base64.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def function_url_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The event a Function URL makes of one HTTP request (``target``: path and query)."""
    parts = urlsplit(target)
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    content_type = joined.get("content-type", "").lower()
    as_text = content_type.startswith(_TEXT_TYPES)
    event = copy.deepcopy(_SAMPLE)
    event.update(
        rawPath=parts.path or "/",
        rawQueryString=parts.query,
        headers=joined,
        isBase64Encoded=bool(body) and not as_text,
    )
    if body:
        event["body"] = body.decode("utf-8") if as_text else base64.b64encode(body).decode()
    http = event["requestContext"]["http"]
    http.update(
        method=method,
        path=parts.path or "/",
        sourceIp=source_ip,
        userAgent=joined.get("user-agent", ""),
    )
    event["requestContext"]["timeEpoch"] = int(time.time() * 1000)
    return event


@contextmanager
def serving(handler: Handler) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (a free port) while the block runs; yields its base URL.

    Requests are served one at a time: a browser opens several connections, and moto's table is
    not safe for concurrent writers."""
    one_at_a_time = threading.Lock()

    class _Request(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            event = function_url_event(
                self.command, self.path, list(self.headers.items()), body, self.client_address[0]
            )
            with one_at_a_time:
                result = handler(event)
            payload = result.get("body") or ""
            raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            self.send_response(int(result["statusCode"]))
            for name, value in (result.get("headers") or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the function logs each request itself."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
