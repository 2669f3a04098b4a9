"""Write docs/performance.md from bench/results.json, the figures of the latest `make bench`.

The figures, their floors and their notes come from the JSON; what each floor is, how the code
keeps to the targets and why a missed target is missed are the prose below, kept here so that
the page cannot show figures of one run beside explanations of another. tests/test_docs.py fails
while the page differs from what this writes.

    python scripts/perf_doc.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "performance.md"

INTRO = """\
# Performance

<!-- Written by `python scripts/perf_doc.py` (make perf-doc) from bench/results.json: run
`make bench`, then `make perf-doc`. -->

`make bench` measures what a cold start, a mail, a large routes file, the package, GitHub's
requests and replies by mail cost, each beside the floor that no Python Lambda doing the same
job can beat, measured in the same run. It prints a table and writes every figure to
`bench/results.json`; this page is written from that file. It is not part of `make test`:
these are figures, not verdicts, and a benchmark that fails on a busy machine would teach
people to ignore it. Ratios are what to compare across machines; absolute times are this
machine's, and swing 10-20 % from run to run on it.

Cold starts are fresh interpreters timed to the end of their code, as Lambda's init duration
is (the process then lives on, so its teardown is not counted), interleaved with the floor's
runs, the median kept. Warm figures are the median of many calls. With a Python 3.12 at hand
(`LAMBDA_PYTHON`, as for `make package`) the deployment zip is also started under 3.12, with
nothing writable beside the code, as Lambda runs it.
"""

HOW = """\
## How the figures are kept low

- The functions make their AWS clients from one botocore session, without importing boto3
  (its resources and s3transfer serve no function). requests, selectolax, jsonschema,
  fastjsonschema, PyYAML and difflib are imported only by the mails or files that need them;
  markdown-it only by the first participant's mail rendered. The outbox walks its SQS batch
  itself: Powertools' batch utility would import asyncio and every event type for that loop.
- `routes.json` is validated once, by `make package`, and indexed by domain: the functions check
  its format and digest, decode a domain's routes when its first mail comes, and so start as
  fast with 10,000 routes as with three.
- HTML-only mail is parsed by Lexbor (selectolax, in C) into the tree a browser builds, and
  written as Markdown by one loop of ours over it, with no search per tag; the mail clients'
  quote markup is looked for only when the source names it.
- Base64 attachments are measured in the raw bytes instead of being decoded
  (`handler/inbound/mime_slim.py`, which leaves alone anything it cannot read exactly as the
  stdlib parser does).
- The zip carries only what can be imported (no C sources, stubs or tests; of Powertools only
  the modules handler/ reaches), with handler/ as sources and 3.12 bytecode, the dependencies as
  bytecode alone.
- A first delivery (under 30 s old, with no posting record) posts at once: one request. A
  redelivered or replayed mail lists the issue's comments since the mail arrived before
  posting, so that a retry after a lost answer cannot post twice
  ([reliability](reliability.md)).
"""

# Why a target is missed, by the start of the figure's name; shown only while it is missed.
MISSED = {
    "mail function cold start from the zip with 10,000 routes": (
        "10,000 routes cost the start what three do (routes.json is indexed at `make package` "
        "and read without validation): the miss is the mail function's own, below."
    ),
    "mail function cold start": (
        "What is left is what a first posted mail uses, so deferring it would only move it into "
        "that mail (`python3.12 -X importtime`): about sixty frozen dataclasses, whose generated "
        "methods Python 3.12 compiles one by one (about 40 ms), the trimmer's multilingual "
        "patterns (about 20 ms), Powertools' logger with typing_extensions, and the module "
        "bodies of parsing, authentication, routing and rendering. Python 3.13 builds a "
        "dataclass's methods at once, and Lambda SnapStart for Python would take the init out "
        "of the cold start; the runtime here is 3.12, without SnapStart."
    ),
    "webhook cold start": (
        "The webhook imports routing, the GitHub event reader and Powertools' logger beside "
        "botocore, and makes three clients where the floor makes one."
    ),
    "outbox cold start": (
        "The outbox makes three clients (DynamoDB, Secrets Manager, SES) where the floor makes "
        "one, and imports the participants' store and the mail composer."
    ),
    "cold start": (
        "See the mail function's figure from the zip: the same modules, from the checkout."
    ),
    "per mail, warm: 20 KB reply": (
        "Most of it is trimming and sanitizing, per line, in Python; the machine's load moves "
        "this figure by a millisecond."
    ),
    "per mail, warm: 200 KB HTML": ("See the HTML mail figures by shape."),
    "HTML mail, warm": (
        "Lexbor parses 200 KB in about a millisecond; what is left is Python's: our writer's walk "
        "(about 0.7 us a node, 6-9 ms for the densest shapes), trimming and sanitizing per line "
        "(7-10 ms). Nested markup and link digests have the most nodes and lines per byte. "
        "Closing the gap needs the writer out of Python (Lexbor's own serializer does not write "
        "Markdown; html-to-markdown, in Rust, does but is 8.3 MB as an arm64 wheel)."
    ),
    "HTML mail:": (
        "Cost per byte grew with size: a shape whose Markdown grows faster than its HTML (quotes "
        "prefix every line they hold) pays for the longer text."
    ),
    "deployment zip, sources only": (
        "The zip without bytecode, for comparison: `make package` builds the one with bytecode "
        "wherever a Python 3.12 is found, below."
    ),
    "deployment zip": (
        "selectolax's Lexbor extension (1.06 MB zipped), which takes an HTML mail from 60-90 ms "
        "to milliseconds, and handler/ with its bytecode (0.7 MB) leave no room under 2 MB for "
        "the rest: tzdata (the python3.12 runtime has no time-zone data), icalendar, requests "
        "with urllib3 and certifi, markdown-it, Powertools' modules. What the zip holds is only "
        "what can be imported. The bigger zip is the faster one: see download + unzip + init, "
        "with bytecode against sources only. A routes file with a `github_app` route adds PyJWT "
        "and cryptography (4.5 MB zipped); only an App login imports them."
    ),
    "download + unzip + init": (
        "At this download rate the bytecode's extra megabyte costs more than compiling at each "
        "cold start; the note gives the rate above which the zip with bytecode is faster."
    ),
}


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(figure: dict[str, Any]) -> str:
    floor = figure["floor"]
    ratio = figure["ratio"]
    result = {True: "met", False: "**missed**", None: ""}[figure["met"]]
    cells = [
        _cell(figure["name"]),
        f"{_number(figure['value'])} {figure['unit']}",
        "" if floor is None else f"{_number(floor)} {figure['unit']}",
        "" if ratio is None else f"{ratio:.2f} x",
        _cell(figure["target"]),
        result,
    ]
    return "| " + " | ".join(cells) + " |"


def _by_size(figures: list[dict[str, Any]]) -> str:
    """A table of the figures measured at several sizes, one row each."""
    series = [f for f in figures if f.get("series")]
    sizes = list(dict.fromkeys(size for f in series for size in f["series"]))
    if not series:
        return ""
    rows = [
        "| " + " | ".join(["figure", *sizes]) + " |",
        "| " + " | ".join(["---"] * (len(sizes) + 1)) + " |",
    ]
    for figure in series:
        values = figure["series"]
        cells = [f"{_number(values[s])} {figure['unit']}" if s in values else "" for s in sizes]
        rows.append("| " + " | ".join([_cell(figure["name"].rsplit(",", 1)[0]), *cells]) + " |")
    return "\n".join(rows) + "\n"


def _measured_against(figures: list[dict[str, Any]], floor_is: str) -> list[str]:
    """The figures (their name up to a colon, each once) that have this floor."""
    names = (f["name"].split(":")[0] for f in figures if f["floor_is"] == floor_is)
    return list(dict.fromkeys(names))


def _explanation(name: str) -> str | None:
    return next((why for start, why in MISSED.items() if name.startswith(start)), None)


def render(results: dict[str, Any]) -> str:
    """The page for one run's results."""
    figures: list[dict[str, Any]] = results["figures"]
    run = (
        f"Measured {results['measured']} on {results['cpus']} CPUs ({results['machine']}), "
        f"Python {results['python']} for the checkout."
    )
    table = [
        "| figure | ours | floor | ratio | target | result |",
        "| --- | --- | --- | --- | --- | --- |",
        *(_row(figure) for figure in figures),
    ]
    floors = [
        f"- {_cell(floor_is)}: for " + "; ".join(_measured_against(figures, floor_is))
        for floor_is in dict.fromkeys(f["floor_is"] for f in figures)
    ]
    notes = [f"- **{f['name']}**: {f['note']}" for f in figures if f["note"]]
    missed = [
        f"- **{f['name']}** ({_number(f['value'])} {f['unit']}, target {f['target']}): {why}"
        for f in figures
        if f["met"] is False and (why := _explanation(f["name"]))
    ]
    parts = [INTRO, f"## The latest run\n\n{run}\n\n" + "\n".join(table) + "\n"]
    by_size = _by_size(figures)
    if by_size:
        parts.append(
            "## By size\n\nThe same measure at each size (the 200 KB column is the figure above): "
            "the cost of every shape grows in proportion to its size.\n\n" + by_size
        )
    parts.append("## The floors\n\n" + "\n".join(floors) + "\n")
    if notes:
        parts.append("## Notes of the run\n\n" + "\n".join(notes) + "\n")
    parts.append(HOW)
    if missed:
        parts.append("## Targets missed, and why\n\n" + "\n".join(missed) + "\n")
    return "\n".join(parts)


def main() -> None:
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    DOC.write_text(render(results), encoding="utf-8")


if __name__ == "__main__":
    main()
