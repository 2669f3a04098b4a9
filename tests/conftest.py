"""Shared test helpers: paths to fixtures in this repo and to the optional shared corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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
# Real-world mails from other projects' suites; present beside the repo on our machines only.
SHARED_EMAILS = ROOT.parent / "shared" / "emails"


@pytest.fixture
def shared_emails() -> Path:
    if not SHARED_EMAILS.is_dir():
        pytest.skip("../shared/emails is not present in this checkout")
    return SHARED_EMAILS
