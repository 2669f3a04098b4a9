"""Write terraform/examples/complete/outputs.tf: every output of the module, re-exported under
its own name, so that the README's `terraform output NAME` commands work in the example.

    python scripts/example_outputs.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "terraform"
TARGET = MODULE / "examples" / "complete" / "outputs.tf"
HEADER = "# Every output of the module under its own name: scripts/example_outputs.py writes it.\n"


def render() -> str:
    """outputs.tf for the module's outputs, in their order."""
    with (MODULE / "outputs.tf").open(encoding="utf-8") as handle:
        document = hcl2.load(handle)
    blocks = []
    for entry in document.get("output", []):
        for label, body in entry.items():
            name = label.strip('"')
            description = body["description"].strip('"')
            blocks.append(
                f'output "{name}" {{\n'
                f"  description = {json.dumps(description)}\n"
                f"  value       = module.ticket_router.{name}\n"
                + ("  sensitive   = true\n" if body.get("sensitive") else "")
                + "}\n"
            )
    return HEADER + "\n" + "\n".join(blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether it is current")
    arguments = parser.parse_args(argv)
    text = render()
    if arguments.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET}: out of date (python scripts/example_outputs.py)")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
