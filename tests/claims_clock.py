"""Powertools' idempotency tells time by ``datetime.now()``: a test that ages a claim (its
in-progress expiry, its TTL) makes that follow its own clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from aws_lambda_powertools.utilities.idempotency import base
from aws_lambda_powertools.utilities.idempotency.persistence import (
    base as persistence_base,
)
from aws_lambda_powertools.utilities.idempotency.persistence import (
    datarecord,
    dynamodb,
)


def claims_timed_by(clock: Callable[[], float], monkeypatch: pytest.MonkeyPatch) -> None:
    """Claims are taken, held and expire by ``clock`` (epoch seconds) for the rest of the
    test."""

    class Now(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:
            return dt.datetime.fromtimestamp(clock(), tz)

    fake = SimpleNamespace(datetime=Now, timedelta=dt.timedelta, date=dt.date, time=dt.time)
    for module in (base, persistence_base, datarecord, dynamodb):
        monkeypatch.setattr(module, "dt", fake)
