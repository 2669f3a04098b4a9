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
    "cold start from the zip, Python 3.12, sources only": (
        "/var/task is read-only, so Lambda compiles every module without bytecode on every cold "
        "start. `make package` puts 3.12 bytecode in the zip when it finds a Python 3.12."
    ),
    "cold start": (
        "What is left is needed before the first mail: compiling the trimmer's multilingual "
        "patterns, about thirty dataclasses and enums, Powertools' logger and metrics with "
        "typing_extensions, the routes schema compiled by fastjsonschema, and, from the zip, its "
        "own urllib3 replacing the runtime's under botocore. Lambda SnapStart for Python would "
        "remove the init altogether; it is not set up here."
    ),
    "per mail, warm: 200 KB HTML": (
        "BeautifulSoup's tree, the stdlib tokenizer under it and markdownify are all pure "
        "Python. Native converters would fit the time but not the package: the aarch64 wheels "
        "of lxml (4.9 MB), selectolax (1.5 MB) and html-to-markdown (8.3 MB) each break the "
        "2 MB target alone. Mail with a text part (what mail clients send) takes the reply's "
        "path instead."
    ),
    "deployment zip, with 3.12 bytecode": (
        "The bytecode is what makes the zip's cold start faster; we take the faster start. "
        "`make package LAMBDA_PYTHON=` builds the zip without bytecode."
    ),
    "deployment zip": (
        "The note names the largest parts; markdown-it and mdurl, for participants' mail, are "
        "about 85 KB of it. The figure is for routes without a GitHub App: a "
        "routes file with a `github_app` route adds PyJWT and cryptography (its arm64 wheel is "
        "4.5 MB zipped) for signing the App's JWT. Only an App login imports them, so cold "
        "starts do not change."
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
