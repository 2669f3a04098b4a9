"""Powertools' cache of parameters (handler.aws.secrets) tells time by ``datetime.now()``: a
test that ages a secret makes that follow its own clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

import pytest
from aws_lambda_powertools.utilities.parameters import base


def secrets_cached_by(clock: Callable[[], float], monkeypatch: pytest.MonkeyPatch) -> None:
    """Cached secrets expire by ``clock`` (epoch seconds) for the rest of the test."""

    class Now(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return datetime.fromtimestamp(clock(), tz)

    monkeypatch.setattr(base, "datetime", Now)
