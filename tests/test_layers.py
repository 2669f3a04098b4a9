"""The architecture holds: routing, inbound and outbound are a core without I/O, and each layer
imports only the layers below it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

HANDLER = ROOT / "handler"
# The core: values in, values out. No AWS, no HTTP, no orchestration.
CORE = ("attachments", "routing", "inbound", "outbound")
# Also pure, and shared by every layer.
SHARED = (
    "handler.reasons",
    "handler.deadline",
    "handler.github.posts",
    "handler.github.rate_limit",
)
NO_IO = ("boto3", "botocore", "requests", "urllib3")
# What a layer may import from handler/, besides itself and SHARED. Entry points (the top-level
# modules, wiring) may import anything.
ALLOWED = {
    # A route's attachment settings and each file's plan: below the routes that hold them.
    "attachments": set(),
    "routing": {"attachments"},
    "inbound": {"routing", "attachments"},
    "outbound": {"routing", "inbound", "attachments"},
    # The GitHub client reads its credentials' secrets through the AWS adapters.
    "github": {"routing", "aws", "attachments"},
    "service": {"routing", "inbound", "outbound", "attachments"},
    "aws": {"routing", "inbound", "outbound", "service", "attachments"},
}


def modules(package: str) -> list[str]:
    folder = HANDLER / package
    return sorted(
        f"handler.{package}" + ("" if path.stem == "__init__" else f".{path.stem}")
        for path in folder.glob("*.py")
    )


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_core_loads_no_aws_or_http_library():
    """Importing every core module, in a fresh interpreter, brings in no boto3, botocore or
    requests (nor anything that brings them in)."""
    names = [name for package in CORE for name in modules(package)] + list(SHARED)
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {NO_IO!r})))\n"
    )
    loaded = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(loaded.stdout) == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(package: str):
    """No import, even a lazy one inside a function, reaches a layer above or beside."""
    wrong = {}
    for path in sorted((HANDLER / package).glob("*.py")):
        for name in imported(path):
            parts = name.split(".")
            if package in CORE and parts[0] in NO_IO:
                wrong[path.name] = name
            if parts[0] != "handler" or len(parts) < 2 or name in SHARED:
                continue
            layer = parts[1]
            if layer != package and layer not in ALLOWED[package]:
                wrong[path.name] = name
    assert wrong == {}


def test_the_layer_table_names_every_package():
    """A new package gets a place in the layers before it gets code."""
    packages = {path.parent.name for path in HANDLER.glob("*/__init__.py")}
    assert packages == set(ALLOWED)
