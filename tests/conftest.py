"""Shared test helpers: paths to fixtures in this repo and to the optional shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

# The `dynamodb` fixture (moto with the claims table) for every test module that asks for it.
pytest_plugins = ["tests.dynamo"]

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# Real-world mails from other projects' suites; present beside the repo on our machines only.
SHARED_EMAILS = ROOT.parent / "shared" / "emails"


@pytest.fixture
def shared_emails() -> Path:
    if not SHARED_EMAILS.is_dir():
        pytest.skip("../shared/emails is not present in this checkout")
    return SHARED_EMAILS
