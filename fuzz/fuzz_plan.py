"""Coverage-guided fuzzing of parse -> route -> render with atheris (libFuzzer).

Run through `make fuzz`, or by hand from the repository root:

    .venv/bin/python fuzz/fuzz_plan.py fuzz/corpus -max_total_time=60

Every input is judged by the same invariants as the property tests (tests/test_fuzz.py): a
decision with a reason for each recipient, and a comment within GitHub's limit with no live
markup. Half the inputs are put below an authenticated SES block, so that the fuzzer reaches
routing and rendering instead of stopping at "no recipient".
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    import handler.inbound.html_markdown
    import handler.inbound.mail
    import handler.inbound.plan
    import handler.inbound.render
    import handler.inbound.trim  # noqa: F401  (instrumented for coverage, used through the pipeline)

from tests.sesmail import ses_block
from tests.test_fuzz import RECIPIENT, check_plan

_SES_BLOCK = ses_block(recipient=RECIPIENT).encode()


def test_one_input(data: bytes) -> None:
    if not data:
        return
    below_ses = data[0] & 1
    raw = data[1:]
    check_plan(_SES_BLOCK + raw if below_ses else raw)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
