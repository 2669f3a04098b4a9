"""Simulated time for the burst tests and the bench: a clock that several threads share and that
moves only when every one of them waits, and an SQS queue that keeps time by it.

Every participant thread runs until it sleeps; when all of them sleep, the clock jumps to the
earliest wake-up. Work therefore takes no simulated time, and an hour of GitHub's rate limit
passes in the seconds the work itself needs, with the same interleavings a real clock would
allow at those moments.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(order=True)
class _Sleeper:
    wake: float
    order: int
    released: bool = field(default=False, compare=False)


class VirtualClock:
    """Epoch seconds that advance only when every participant sleeps."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._sleepers: list[_Sleeper] = []
        self._running = 0
        self._order = itertools.count()

    def __call__(self) -> float:
        return self._now

    @contextmanager
    def participant(self) -> Iterator[None]:
        """The calling thread takes part: the clock waits for it whenever it is not asleep."""
        with self._cond:
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._advance_if_idle()

    def sleep(self, seconds: float) -> None:
        with self._cond:
            sleeper = _Sleeper(self._now + max(0.0, seconds), next(self._order))
            heapq.heappush(self._sleepers, sleeper)
            self._running -= 1
            self._advance_if_idle()
            while not sleeper.released:
                self._cond.wait()

    def _advance_if_idle(self) -> None:
        # Wakes the earliest sleepers, counting them as running before anyone can look again,
        # so that time never jumps past a thread that is about to run.
        if self._running > 0 or not self._sleepers:
            return
        self._now = max(self._now, self._sleepers[0].wake)
        while self._sleepers and self._sleepers[0].wake <= self._now:
            heapq.heappop(self._sleepers).released = True
            self._running += 1
        self._cond.notify_all()


@dataclass
class QueuedMessage:
    message_id: str
    body: str
    sent_at: float
    visible_at: float = 0.0
    receives: int = 0
    receipt: str = ""


class SimulatedQueue:
    """An SQS standard queue in simulated time: visibility timeouts, receive counts, and a
    redrive to the dead-letter list after ``max_receives``."""

    def __init__(
        self, clock: Callable[[], float], *, visibility: float, max_receives: int, arn: str
    ) -> None:
        self._clock = clock
        self._visibility = visibility
        self._max_receives = max_receives
        self.arn = arn
        self._lock = threading.Lock()
        self._messages: dict[str, QueuedMessage] = {}
        self._by_receipt: dict[str, QueuedMessage] = {}
        self._receipts = itertools.count(1)
        self.dead_letters: list[QueuedMessage] = []

    def send(self, message_id: str, body: str) -> None:
        with self._lock:
            self._messages[message_id] = QueuedMessage(message_id, body, self._clock())

    def receive(self, limit: int) -> list[QueuedMessage]:
        """Up to ``limit`` visible messages, oldest first, each hidden for the visibility timeout;
        one received too often goes to the dead letters instead, as SQS's redrive does."""
        now = self._clock()
        taken: list[QueuedMessage] = []
        with self._lock:
            for message in sorted(self._messages.values(), key=lambda m: m.sent_at):
                if len(taken) == limit:
                    break
                if message.visible_at > now:
                    continue
                if message.receives >= self._max_receives:
                    del self._messages[message.message_id]
                    self.dead_letters.append(message)
                    continue
                message.receives += 1
                message.visible_at = now + self._visibility
                message.receipt = f"r{next(self._receipts)}"
                self._by_receipt[message.receipt] = message
                taken.append(message)
        return taken

    def delete(self, receipt: str) -> None:
        with self._lock:
            message = self._by_receipt.pop(receipt, None)
            if message is not None and message.receipt == receipt:
                self._messages.pop(message.message_id, None)

    def change_visibility(self, receipt: str, seconds: float) -> None:
        with self._lock:
            message = self._by_receipt.get(receipt)
            if message is not None and message.receipt == receipt:
                message.visible_at = self._clock() + seconds

    def next_visible(self) -> float | None:
        """When the next message shows, or None when the queue is empty."""
        with self._lock:
            return min((m.visible_at for m in self._messages.values()), default=None)

    def __len__(self) -> int:
        return len(self._messages)
