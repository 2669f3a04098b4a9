"""The simulated clock and queue that the burst tests stand on."""

from __future__ import annotations

import threading

from tests.simulation import SimulatedQueue, VirtualClock


def test_the_clock_moves_only_when_every_participant_sleeps() -> None:
    clock = VirtualClock(1000.0)
    woke: list[tuple[str, float]] = []
    ready = threading.Barrier(2)

    def run(name: str, naps: list[float]) -> None:
        with clock.participant():
            ready.wait()
            for nap in naps:
                clock.sleep(nap)
                woke.append((name, clock()))

    threads = [
        threading.Thread(target=run, args=("a", [10.0, 1.0])),
        threading.Thread(target=run, args=("b", [5.0, 10.0])),
    ]
    # Both take part before either sleeps: the clock cannot run ahead of one starting late.
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(woke, key=lambda pair: pair[1]) == [
        ("b", 1005.0),
        ("a", 1010.0),
        ("a", 1011.0),
        ("b", 1015.0),
    ]


def test_a_busy_participant_holds_the_clock() -> None:
    clock = VirtualClock(0.0)
    seen: list[float] = []
    busy = threading.Event()
    done = threading.Event()

    def sleeper() -> None:
        with clock.participant():
            busy.wait(10)
            clock.sleep(60.0)
            seen.append(clock())

    def worker() -> None:
        with clock.participant():
            busy.set()
            # Works (does not sleep) while the other sleeps: no time may pass.
            done.wait(0.2)
            seen.append(clock())

    threads = [threading.Thread(target=sleeper), threading.Thread(target=worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [0.0, 60.0]


def test_the_queue_hides_received_messages_and_dead_letters_after_max_receives() -> None:
    clock = VirtualClock(0.0)
    queue = SimulatedQueue(clock, visibility=30.0, max_receives=2, arn="arn:aws:sqs:x:1:q")
    queue.send("m1", "one")
    queue.send("m2", "two")
    first = queue.receive(10)
    assert [m.message_id for m in first] == ["m1", "m2"]
    assert queue.receive(10) == []
    queue.delete(first[1].receipt)
    queue.change_visibility(first[0].receipt, 5.0)
    assert queue.next_visible() == 5.0
    with clock.participant():
        clock.sleep(5.0)
    again = queue.receive(10)
    assert [(m.message_id, m.receives) for m in again] == [("m1", 2)]
    with clock.participant():
        clock.sleep(30.0)
    # A third receive is more than max_receives: SQS moves it to the dead-letter queue instead.
    assert queue.receive(10) == []
    assert [m.message_id for m in queue.dead_letters] == ["m1"]
    assert len(queue) == 0
