"""Shared test helpers: paths to fixtures in this repo and to the optional shared corpus."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from handler.routing import parse_routes

# The `dynamodb` fixture (moto with the claims table) for every test module that asks for it.
pytest_plugins = ["tests.dynamo"]

# Property tests judge behaviour, never speed: no deadline and no "too slow" health check, which
# a busy machine would trip. "ci" is make test's; make fuzz runs the "fuzz" profile.
for name, examples in (("ci", 200), ("fuzz", int(os.environ.get("FUZZ_EXAMPLES", "5000")))):
    settings.register_profile(
        name,
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# One route for the issue addresses tests.sesmail.ses_block delivers to, allowing the sender it
# authenticates.
SES_ROUTES = parse_routes(
    """
routes:
  - domain: issues.example.com
    repo: example-org/app
    allowed_senders: [example.com]
""",
    "routes.yaml",
)
# Real-world mails from other projects' suites; present beside the repo on our machines only.
SHARED_EMAILS = ROOT.parent / "shared" / "emails"


def stored_mails() -> list[Path]:
    """Every .eml of the tests, the fuzz corpus's inputs and, where it is checked out, every mail
    of ../shared/emails."""
    found = sorted(TESTS.rglob("*.eml")) + sorted((ROOT / "fuzz" / "corpus").iterdir())
    if SHARED_EMAILS.is_dir():
        found += sorted(p for p in SHARED_EMAILS.rglob("*") if p.is_file() and p.suffix != ".md")
    return found


@pytest.fixture
def shared_emails() -> Path:
    if not SHARED_EMAILS.is_dir():
        pytest.skip("../shared/emails is not present in this checkout")
    return SHARED_EMAILS


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog for ticket_router, whether or not the Lambda's config stopped its propagation."""
    logger = logging.getLogger("ticket_router")
    propagate = logger.propagate
    logger.addHandler(caplog.handler)
    logger.propagate = False
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.propagate = propagate


@pytest.fixture
def stdout_log() -> Iterator[io.StringIO]:
    """What the inbound function's log handler writes (its stream is bound at import, before
    capsys)."""
    # Imported here: importing it configures the ticket_router logger for every test after.
    from handler import lambda_function  # noqa: PLC0415

    handler = lambda_function.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)
