"""Coverage-guided fuzzing of the webhook's answer to a delivery with atheris (libFuzzer).

Run through `make fuzz`, or by hand from the repository root:

    .venv/bin/python fuzz/fuzz_webhook.py fuzz/corpus-webhook -max_total_time=60

Every input is a Function URL event whose body is signed as it is sent (tests/test_fuzz.py,
webhook_event: the first byte picks the key, the content type, the event, base64 and the path),
so that the fuzzer reaches past the signature into reading, routing and queueing. The invariant
is the property tests' (check_webhook): no exception, no 5xx, a stable reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    import handler.outbound.github_events
    import handler.outbound.http
    import handler.outbound.signatures
    import handler.outbound.unsubscribe
    import handler.outbound.webhook
    import handler.service.webhook  # noqa: F401  (instrumented for coverage, used through handle)

from tests.test_fuzz import check_webhook


def test_one_input(data: bytes) -> None:
    check_webhook(data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
