"""`make package`: a deterministic zip of handler/, routes.yaml and the pinned runtime closure."""

from __future__ import annotations

import importlib.util
import re
import zipfile
from importlib.metadata import distribution
from pathlib import Path

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("package", ROOT / "scripts" / "package.py")
assert spec is not None
assert spec.loader is not None
package = importlib.util.module_from_spec(spec)
spec.loader.exec_module(package)


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if "==" in text:
            name, version = text.split("==", 1)
            found[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return found


def closure(names: set[str]) -> set[str]:
    """Every distribution the named ones need, as installed in this venv."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for requirement in distribution(name).requires or []:
            if "extra ==" in requirement:
                continue
            todo.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0].lower())
    return {name.replace("_", "-") for name in seen}


def test_lambda_requirements_pin_the_whole_runtime_closure():
    """Every runtime dependency but boto3 is in the zip, at the version the tests ran with."""
    runtime = pins(ROOT / "requirements.txt")
    lambda_pins = pins(ROOT / "requirements-lambda.txt")
    needed = closure(set(runtime) - {"boto3"})
    assert set(lambda_pins) == needed
    for name, version in lambda_pins.items():
        assert distribution(name).version == version, name
    assert not set(lambda_pins) & package.PROVIDED_BY_RUNTIME


def test_zip_is_deterministic(tmp_path: Path):
    """Same content, same bytes: entries sorted, timestamps and modes fixed."""
    (tmp_path / "b.py").write_text("b = 1\n")
    (tmp_path / "a.py").write_text("a = 1\n")
    files = [(tmp_path / "b.py", "pkg/b.py"), (tmp_path / "a.py", "pkg/a.py")]
    package.write_zip(files, tmp_path / "one.zip")
    (tmp_path / "a.py").touch()
    package.write_zip(list(reversed(files)), tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["pkg/a.py", "pkg/b.py"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_changed_routes_file_changes_the_zip(tmp_path: Path):
    """Terraform deploys by the zip's hash: an edited routes.yaml must change it."""
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes: []\n")
    package.write_zip([(routes, "routes.yaml")], tmp_path / "one.zip")
    routes.write_text("routes: [x]\n")
    package.write_zip([(routes, "routes.yaml")], tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() != (tmp_path / "two.zip").read_bytes()


def test_handler_tree_leaves_out_caches(tmp_path: Path):
    """Bytecode caches and tests never reach the zip."""
    (tmp_path / "handler" / "__pycache__").mkdir(parents=True)
    (tmp_path / "handler" / "x.py").write_text("")
    (tmp_path / "handler" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "handler" / "routes.schema.json").write_text("{}")
    names = sorted(name for _, name in package._tree(tmp_path / "handler", tmp_path))
    assert names == ["handler/routes.schema.json", "handler/x.py"]


def test_runtime_provided_packages_are_refused(tmp_path: Path, capsys):
    """Asking to ship boto3 is an error: the runtime has it, and two copies would disagree."""
    requirements = tmp_path / "r.txt"
    requirements.write_text("boto3==1.44.5\nrequests==2.34.2\n")
    assert package.main(["--requirements", str(requirements), "--output", str(tmp_path / "z")]) == 1
    assert "leave out boto3: the Lambda runtime has it" in capsys.readouterr().err
