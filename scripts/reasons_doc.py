"""Write docs/reasons.md, the table of every reason code, from handler/reasons.py.

The enum gives each code, its meaning and whether it is transient; the comment above each group
of members (``# Title: what they are about.``) gives the section. tests/test_reasons.py fails
while the file differs from what this writes.

    python scripts/reasons_doc.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "handler" / "reasons.py"
DOC = ROOT / "docs" / "reasons.md"
sys.path.insert(0, str(ROOT))
from handler.reasons import Reason  # noqa: E402

INTRO = """\
# Reason codes

<!-- Written by `python scripts/reasons_doc.py` from handler/reasons.py: edit the enum. -->

Every outcome is logged with a stable `reason`: a mail's decision for each recipient (also in
`dispatch --json`, and the `reason` dimension of the `Rejected` and `Failed` metrics), the
webhook's answer to a request, the outbox's for each participant. Transient: trying again later
may succeed, so the mail or the message is retried (Lambda, SQS, GitHub's redelivery) rather
than dropped.
"""


def groups() -> list[tuple[str, str, list[Reason]]]:
    """(title, what they are about, members) of each group, in the enum's order."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    enum = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Reason")
    found: list[tuple[str, str, list[Reason]]] = []
    for statement in enum.body:
        if not isinstance(statement, ast.Assign):
            continue
        comment: list[str] = []
        above = statement.lineno - 2
        while above >= 0 and lines[above].strip().startswith("#"):
            comment.insert(0, lines[above].strip().removeprefix("#").strip())
            above -= 1
        if comment:
            title, colon, about = " ".join(comment).partition(": ")
            if not colon:
                raise ValueError(f"line {above + 2}: a group's comment is `# Title: about.`")
            found.append((title, about[:1].upper() + about[1:], []))
        if not found:
            raise ValueError(f"line {statement.lineno}: the first member needs a group comment")
        [target] = statement.targets
        found[-1][2].append(Reason[ast.unparse(target)])
    return found


def render() -> str:
    parts = [INTRO]
    for title, about, members in groups():
        rows = [
            f"| `{member}` | {member.meaning} | {'yes' if member.transient else 'no'} |"
            for member in members
        ]
        table = "\n".join(["| reason | meaning | transient |", "| --- | --- | --- |", *rows])
        parts.append(f"## {title}\n\n{about}\n\n{table}\n")
    return "\n".join(parts)


def main() -> None:
    DOC.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
