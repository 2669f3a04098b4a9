"""The README and docs/: the README's size, the generated pages current, links that resolve and
no reference to this project's own issue tracker."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from handler.attachments.model import FileReason
from scripts import perf_doc

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted(
    [README, *(ROOT / "docs").glob("*.md"), *(ROOT / "terraform").rglob("README.md")],
    key=lambda path: str(path.relative_to(ROOT)),
)
# The issue asks for a README that fits on a screen or two.
README_LIMIT = 12 * 1024

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
# A reference to an issue of this project: "after issue 7", "(issue 12)", "see #14". Example
# issues in addresses and repositories ("web-45@...", "example-org/website#45") are not.
_INTERNAL_ISSUE = re.compile(
    r"\b(?:after|before|since|until|see|in|from|per|fixes|closes)\s+issue\s+#?\d+\b"
    r"|\(issue\s+#?\d+\)"
    r"|(?<![\w/&])#\d+\b",
    re.IGNORECASE,
)


def _prose(text: str) -> str:
    """The Markdown without fenced code blocks and code spans, whose brackets are no links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    found: set[str] = set(_HTML_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(text):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def _links(page: Path) -> list[str]:
    return _LINK.findall(_prose(page.read_text(encoding="utf-8")))


def test_readme_fits_on_a_screen_or_two():
    """The README stays within 12 KB; the depth belongs in docs/."""
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes, over {README_LIMIT}"


def test_performance_page_is_generated_from_the_results():
    """docs/performance.md is exactly what scripts/perf_doc.py writes from bench/results.json."""
    results = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    assert (ROOT / "docs" / "performance.md").read_text(encoding="utf-8") == perf_doc.render(
        results
    ), "docs/performance.md is out of date: run `make perf-doc` and commit it"


def test_performance_page_explains_only_missed_targets():
    """A missed target gets its explanation, and a met one none, so the page follows the run."""
    figure = {
        "name": "per mail, warm: 200 KB HTML newsletter (200,400 bytes)",
        "value": 84.7,
        "unit": "ms",
        "floor": 0.958,
        "floor_is": "the stdlib's parse of the same bytes",
        "target": "< 20 ms",
        "met": False,
        "note": "",
        "ratio": 88.4,
    }
    run = {"measured": "2026-01-01T00:00:00+00:00", "python": "3.12.1", "machine": "arm64"}
    missed = perf_doc.render(run | {"cpus": 2, "figures": [figure]})
    met = perf_doc.render(run | {"cpus": 2, "figures": [figure | {"value": 9.0, "met": True}]})
    assert "| per mail, warm: 200 KB HTML newsletter (200,400 bytes) | 84.7 ms | 0.958 ms | " in (
        missed
    )
    assert "## Targets missed, and why\n\n- **per mail, warm: 200 KB HTML" in missed
    assert "## Targets missed" not in met
    assert "| 9 ms | 0.958 ms | 88.40 x | < 20 ms | met |" in met


def test_performance_page_tables_figures_measured_at_several_sizes():
    """A figure with a series gets a row in the by-size table, its sizes as columns."""
    figure = {
        "name": "HTML mail, warm: link digest, 200 KB",
        "value": 9.5,
        "unit": "ms",
        "floor": 1.0,
        "floor_is": "the stdlib's parse of the same bytes",
        "target": "<= 15 ms",
        "met": True,
        "note": "",
        "ratio": 9.5,
        "series": {"25 KB": 1.2, "200 KB": 9.5, "400 KB": 19.25},
    }
    run = {"measured": "2026-01-01T00:00:00+00:00", "python": "3.12.1", "machine": "arm64"}
    page = perf_doc.render(run | {"cpus": 2, "figures": [figure | {"series": {}}, figure]})
    assert (
        "| figure | 25 KB | 200 KB | 400 KB |\n| --- | --- | --- | --- |\n"
        "| HTML mail, warm: link digest | 1.2 ms | 9.5 ms | 19.2 ms |\n\n"
    ) in page
    assert "## By size" not in perf_doc.render(
        run | {"cpus": 2, "figures": [figure | {"series": {}}]}
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    """Every relative link of the README, docs/ and the Terraform READMEs names a file or folder
    that exists, and a heading (or an anchor) of its page where it names one."""
    broken = []
    for target in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == []


def test_slug_follows_github():
    """Headings become GitHub's anchors, so that the link check cannot pass a broken anchor."""
    assert _slug("What `terraform apply` waits for, and how long") == (
        "what-terraform-apply-waits-for-and-how-long"
    )
    assert _slug("GitHub's rate limit, shared") == "githubs-rate-limit-shared"
    assert _slug("replay_guard") == "replay_guard"
    assert _slug('"My mail didn\'t post"') == "my-mail-didnt-post"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_internal_issue_numbers(page: Path):
    """The docs stand on their own: no "after issue 7" or "#12" pointing into the tracker."""
    assert _INTERNAL_ISSUE.findall(_prose(page.read_text(encoding="utf-8"))) == []


def test_internal_issue_pattern_spares_examples():
    """The pattern finds tracker references and leaves example issue addresses alone."""
    found = _INTERNAL_ISSUE.findall(
        "One run after issue 7 (issue 12), see #14. Mail web-45@issues.example.com for "
        "example-org/website#45, or 123@anomalies.example.ac.uk for issue 123; &#64;."
    )
    assert found == ["after issue 7", "(issue 12)", "#14"]


def test_attachments_page_names_every_file_reason():
    """Each reason a file is listed rather than linked has its row on the attachments page,
    and the page names no reason the code does not give."""
    page = (ROOT / "docs" / "attachments.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z-]+)` \|", page, re.MULTILINE))
    settings = {"mode", "storage", "repository", "branch", "types"}
    settings |= {"max_file_size", "max_mail_size", "max_files", "retention_days"}
    # The credentials table's rows name the storages.
    storages = {"github", "s3"}
    assert rows - settings - storages == {reason.value for reason in FileReason}
