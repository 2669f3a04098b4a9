"""DynamoDB as the claim tests need it from moto."""

from __future__ import annotations

import threading
from typing import Any


class Atomic:
    """A DynamoDB client whose calls run one at a time.

    DynamoDB applies a conditional write atomically; moto's in-memory table does not when
    threads race, so without this the test would measure moto, not the claims.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return locked
