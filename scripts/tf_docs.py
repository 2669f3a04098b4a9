"""Write the Inputs and Outputs tables of each Terraform module's README from its .tf files,
and examples/complete/outputs.tf, which re-exports every output of the module under its name.

The tables sit between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` (terraform-docs'
markers; terraform-docs itself is a Go binary these machines do not have). ``--check`` only
reports files that are out of date, for the tests.

    python scripts/tf_docs.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
EXAMPLE_OUTPUTS = ROOT / "terraform" / "examples" / "complete" / "outputs.tf"


def module_dirs() -> list[Path]:
    terraform = ROOT / "terraform"
    return [terraform, *sorted(p for p in (terraform / "modules").iterdir() if p.is_dir())]


def tables(folder: Path) -> str:
    variables: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            document = hcl2.load(handle)
        for entry in document.get("variable", []):
            variables.update({_plain(k): v for k, v in entry.items()})
        for entry in document.get("output", []):
            outputs.update({_plain(k): v for k, v in entry.items()})
    lines = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default |",
        "| --- | --- | --- | --- |",
    ]
    for name, body in sorted(variables.items()):
        default = f"`{_default(body['default'])}`" if "default" in body else "required"
        lines.append(
            f"| `{name}` | {_cell(_plain(body['description']))} | "
            f"`{_cell(_plain(body['type']))}` | {default} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "| --- | --- |"]
    for name, body in sorted(outputs.items()):
        lines.append(f"| `{name}` | {_cell(_plain(body['description']))} |")
    return "\n".join([BEGIN, *lines, END])


def render(readme: str, folder: Path) -> str:
    before, _, rest = readme.partition(BEGIN)
    _, _, after = rest.partition(END)
    return before + tables(folder) + after


def example_outputs() -> str:
    """examples/complete/outputs.tf: the module's outputs in their order, so that the README's
    `terraform output NAME` commands work where the example is applied."""
    with (ROOT / "terraform" / "outputs.tf").open(encoding="utf-8") as handle:
        document = hcl2.load(handle)
    blocks = [
        f'output "{_plain(label)}" {{\n'
        f"  description = {json.dumps(_plain(body['description']))}\n"
        f"  value       = module.ticket_router.{_plain(label)}\n"
        + ("  sensitive   = true\n" if body.get("sensitive") else "")
        + "}\n"
        for entry in document.get("output", [])
        for label, body in entry.items()
    ]
    header = "# Every output of the module under its own name: scripts/tf_docs.py writes it.\n"
    return header + "\n" + "\n".join(blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, write none")
    args = parser.parse_args(argv)
    wanted: dict[Path, str] = {}
    for folder in module_dirs():
        readme = folder / "README.md"
        current = readme.read_text(encoding="utf-8")
        if BEGIN not in current:
            print(f"{readme}: has no {BEGIN} ... {END} section", file=sys.stderr)
            return 1
        wanted[readme] = render(current, folder)
    wanted[EXAMPLE_OUTPUTS] = example_outputs()
    stale = [path for path, text in wanted.items() if path.read_text(encoding="utf-8") != text]
    for path in stale:
        if not args.check:
            path.write_text(wanted[path], encoding="utf-8")
        print(f"{path}: {'out of date' if args.check else 'updated'}")
    return 1 if stale and args.check else 0


def _plain(value: Any) -> str:  # noqa: ANN401 - python-hcl2 values
    text = str(value)
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text


def _default(value: Any) -> str:  # noqa: ANN401 - python-hcl2 values
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    # Strings keep their quotes, as terraform-docs shows them: "" must not render as nothing.
    if isinstance(value, str) and value.startswith('"'):
        return value
    return _plain(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
