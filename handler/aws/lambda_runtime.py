"""What the Lambda entry points share: the routes file they load, their JSON logger, and AWS
clients, of one botocore session, made on first use. Importing it has no side effects: each
entry point makes its own logger."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from handler import SERVICE

if TYPE_CHECKING:
    from botocore.config import Config

_ROOT = Path(__file__).resolve().parents[2]
# `make package` puts routes.json, routes.yaml validated and indexed by domain, in the zip: it loads
# in milliseconds where PyYAML takes most of a second for a large file. A checkout has the YAML.
DEFAULT_ROUTES = (
    _ROOT / "routes.json" if (_ROOT / "routes.json").exists() else _ROOT / "routes.yaml"
)


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def aws_client(service: str, config: Config | None = None) -> Any:  # noqa: ANN401 - per service
    """A client of the one botocore session the functions' clients share. botocore's own, not
    boto3's: importing boto3 adds its resources and s3transfer, which no function uses (a tenth
    of a cold start)."""
    return _session().create_client(service, config=config)


class LazyClient:
    """A boto3 client made on first use. Only S3 serves every mail: a mail that is rejected
    needs no Secrets Manager, DynamoDB or SES client, and a cold start should not build them."""

    def __init__(self, service: str, config: Config | None = None) -> None:
        self.service = service
        self.config = config

    @functools.cached_property
    def client(self) -> Any:  # noqa: ANN401 - the service, and so the type, is known at run time
        return aws_client(self.service, self.config)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        # Only for the client's operations: a failing client (or copy probing __deepcopy__ on a
        # half-made object) must raise, not recurse through this method.
        if name in {"client", "service", "config"} or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.client, name)


def json_logger(*plain: str) -> Logger:
    """The function's Powertools logger (JSON lines, UTC, level from LOG_LEVEL), and the plain
    stdlib loggers named ``plain`` writing through it.

    The pure core logs through plain loggers, so that it and the CLI need no Powertools. Here
    they get Logger's JSON handler and stop propagating: the runtime's root handler would print
    each line a second time, wrapped in "[INFO] <time> <request id> ...".
    """
    logger = Logger(
        service=SERVICE, level=os.environ.get("LOG_LEVEL") or "INFO", utc=True, use_rfc3339=True
    )
    if plain:
        copy_config_to_registered_loggers(source_logger=logger, include=set(plain))
    return logger
