"""What the Lambda entry points share: the routes file they load, the Lambda context they are
given, and boto3 clients made on first use. Importing it has no side effects, so that each
entry point sets up its own logging."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Protocol

import boto3

_ROOT = Path(__file__).resolve().parent.parent
# `make package` puts routes.json, the validated JSON form of routes.yaml, in the zip: it loads in
# milliseconds where PyYAML takes most of a second for a large file. A checkout has the YAML.
DEFAULT_ROUTES = (
    _ROOT / "routes.json" if (_ROOT / "routes.json").exists() else _ROOT / "routes.yaml"
)


class LambdaContext(Protocol):
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


class LazyClient:
    """A boto3 client made on first use. Only S3 serves every mail: a mail that is rejected
    needs no Secrets Manager, DynamoDB or SES client, and a cold start should not build them."""

    def __init__(self, service: str) -> None:
        self.service = service

    @functools.cached_property
    def client(self) -> Any:  # noqa: ANN401 - boto3 clients are untyped
        return boto3.client(self.service)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        # Only for the client's operations: a failing client (or copy probing __deepcopy__ on a
        # half-made object) must raise, not recurse through this method.
        if name in {"client", "service"} or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.client, name)
