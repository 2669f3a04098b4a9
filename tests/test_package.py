"""`make package`: a deterministic zip of handler/, routes.json and the pinned runtime closure."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from handler.routing import parse_routes
from handler.routing.packaged import read_packaged
from scripts import package
from scripts.locks import read_lock
from tests.conftest import ROOT

# A route that posts as a GitHub App, appended to routes.yaml's list of routes.
APP_ROUTE = b"""\
  - domain: tickets.partner.example
    repo: partner-org/tracker
    allowed_senders: [partner.example]
    github_app:
      client_id: Iv23liAbCdEf01234567
      installation_id: 7890123
      private_key_secret: ticket-router/partner-app-key
"""
NO_APP_LINE = "no route posts as a GitHub App: cffi, cryptography, pycparser, pyjwt left out"


def app_routes(tmp_path: Path) -> Path:
    """routes.yaml with one more route, posting as a GitHub App."""
    routes = tmp_path / "app-routes.yaml"
    routes.write_bytes((ROOT / "routes.yaml").read_bytes() + APP_ROUTE)
    return routes


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


def test_what_no_import_reads_is_left_out_of_the_dependencies(tmp_path: Path):
    """C and Cython sources, stubs, tests and most of a distribution's metadata stay out; the
    modules, their data, METADATA and the licences go in."""
    for name in [
        "lib/__init__.py", "lib/core.py", "lib/core.pyi", "lib/ext.c", "lib/ext.pyx",
        "lib/ext.pxd", "lib/part/util.pxi", "lib/py.typed", "lib/data.pem", "lib/tests/t.py",
        "lib-1.0.dist-info/METADATA", "lib-1.0.dist-info/RECORD", "lib-1.0.dist-info/WHEEL",
        "lib-1.0.dist-info/LICENSE.txt", "lib-1.0.dist-info/licenses/NOTICE",
        "lib-1.0.dist-info/top_level.txt", "lib.py",
    ]:  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert sorted(path.relative_to(tmp_path).as_posix() for path in package._files(tmp_path)) == [
        "lib-1.0.dist-info/LICENSE.txt",
        "lib-1.0.dist-info/METADATA",
        "lib-1.0.dist-info/licenses/NOTICE",
        "lib.py",
        "lib/__init__.py",
        "lib/core.py",
        "lib/data.pem",
    ]


def test_a_trimmed_toolkit_keeps_what_handler_imports_and_what_that_imports(tmp_path: Path):
    """Deferred imports are followed; a module whose own imports need what is in neither the
    zip nor the runtime (Pydantic) is not, and nor is what only it imports."""
    files = {
        "handler/__init__.py": "",
        "handler/app.py": "from kit import log\ndef later():\n    from kit.batch import run\n",
        "kit/__init__.py": "",
        "kit/log.py": "import boto3\nfrom . import fmt\n",
        "kit/fmt.py": "",
        "kit/batch/__init__.py": "def to_dict():\n    from kit.parser import model\n",
        "kit/parser/__init__.py": "import pydantic\nfrom kit.parser import model\n",
        "kit/parser/model.py": "from kit import events\n",
        "kit/events.py": "",
        "kit/unused.py": "",
        "kit/data/schema.json": "{}",
        "kit/ui/page.js": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    package._trim(tmp_path, "kit")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("kit/**/*.*")) == [
        "kit/__init__.py",
        "kit/batch/__init__.py",
        "kit/fmt.py",
        "kit/log.py",
    ]


@pytest.mark.parametrize(
    ("lock", "why"),
    [
        # The runtime has boto3, and two copies would disagree.
        ("boto3==1.44.5\nrequests==2.34.2\n", "leave out boto3: the Lambda runtime has it"),
        # The function reads routes.json.
        (
            "PyYAML==6.0.3\nrequests==2.34.2\n",
            "leave out pyyaml: the function reads routes.json, not YAML",
        ),
        # Only a hash-pinned lock is installed: a plain pin list names what has no hash.
        (
            "requests==2.34.2 --hash=sha256:ab\nidna==3.21\nsix==1.17.0\n",
            "not a hash-pinned lock (make lock), no --hash for idna, six: not packaged",
        ),
        # A range is not a lock: the line is named.
        (
            "# pins\nrequests>=2 \\\n    --hash=sha256:ab\n",
            "cannot be read as a lock, not packaged: {lock}:2: not a pin (name==version): "
            "requests>=2",
        ),
    ],
    ids=["runtime-provided", "yaml-tools", "no-hashes", "a-range"],
)
def test_a_lock_that_cannot_make_the_zip_is_refused(tmp_path: Path, capsys, lock: str, why: str):
    """The build stops before any download, with one line that names the lock and why."""
    requirements = tmp_path / "r.txt"
    requirements.write_text(lock)
    output = tmp_path / "z.zip"
    assert package.main(["--requirements", str(requirements), "--output", str(output)]) == 1
    assert capsys.readouterr().err == f"{requirements}: {why.format(lock=requirements)}\n"
    assert not output.exists()


def test_an_invalid_routes_file_is_not_packaged(tmp_path: Path, capsys):
    """Every problem is printed and nothing is built (before any download)."""
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - domain: issues.example.com\n    repo: example-org/app\n")
    output = tmp_path / "z.zip"
    assert package.main(["--routes", str(routes), "--output", str(output)]) == 1
    assert capsys.readouterr().err == (
        f"{routes}:2:5: route 1 (issues.example.com): the required key allowed_senders is "
        "missing\n"
        f"{routes}: not packaged\n"
    )
    assert not output.exists()


def test_the_function_runs_on_what_the_zip_holds(tmp_path: Path):
    """Without PyYAML and jsonschema importable, the Lambda module loads the packaged
    routes.json and plans a mail: nothing on its path needs what the zip leaves out."""
    routes = tmp_path / "routes.json"
    text = (ROOT / "tests" / "lambda" / "routes.yaml").read_text()
    routes.write_text(package.routes_json(text, "routes.yaml"))
    script = f"""
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {{"yaml", "jsonschema"}}:
            raise ImportError(f"{{name}} is not in the zip")
sys.meta_path.insert(0, Refuse())
from handler import lambda_function
from handler.inbound.plan import plan
from handler.routing import load_routes
routes = load_routes({str(routes)!r})
from tests.sesmail import ses_mail
print([str(d.reason) for d in plan(ses_mail(), routes).decisions])
print(sorted(name for name in sys.modules if name.split(".")[0] in {{"yaml", "jsonschema"}}))
"""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AWS_DEFAULT_REGION": "eu-west-1"},
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == ["['accepted']", "[]"]


def test_routes_hash_is_what_terraform_filesha256_gives(tmp_path: Path):
    """The record beside the zip holds the routes file's lowercase hex SHA-256."""
    routes = tmp_path / "routes.yaml"
    routes.write_bytes(b"routes: []\n")
    record = package.write_routes_hash(routes, tmp_path / "ticket-router.zip")
    assert record == tmp_path / "ticket-router.zip.routes-sha256"
    assert record.read_text() == (
        "53c772ade0170baffdebe3ab4e3302735401c3611535f3547361d29bd3223bd0\n"
    )


def test_make_package_builds_a_lambda_zip_from_the_given_routes(tmp_path: Path, capsys):
    """The real build: arm64 CPython 3.12 wheels, handler/, the routes given, no boto3 or tests;
    with a GitHub App route, the libraries that sign its JWTs.

    Downloads the pinned wheels from the package index (a few seconds).
    """
    routes = app_routes(tmp_path)
    output = tmp_path / "dist" / "ticket-router.zip"
    argv = ["--routes", str(routes), "--output", str(output)]
    assert package.main(argv) == 0
    first = output.read_bytes()
    assert package.main(argv) == 0
    assert output.read_bytes() == first
    assert "GitHub App" not in capsys.readouterr().out
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        packaged = archive.read("routes.json").decode()
        # The routes of the YAML given, read back as the function reads them.
        given = parse_routes(routes.read_text(), "r").routes
        assert read_packaged(packaged, "routes.json").routes == given
        assert "routes.yaml" not in names
        assert "handler/lambda_function.py" in names
        assert "handler/routing/routes.schema.json" in names
        # A RECORD would list files left out as installed; METADATA answers version lookups.
        assert not [name for name in names if name.endswith(".dist-info/RECORD")]
        assert "requests-2.34.2.dist-info/METADATA" in names
        assert "requests-2.34.2.dist-info/licenses/LICENSE" in names
        assert not [name for name in names if name.endswith((".c", ".pyx", ".pyi", ".pxd"))]
    tops = {name.split("/", 1)[0] for name in names}
    assert not {"boto3", "botocore", "s3transfer", "tests", "bin"} & tops
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # Native code only ever for the Lambda's platform: CPython 3.12's ABI or the stable one
    # (cryptography), and 64-bit ARM machine code; charset-normalizer's is left out.
    natives = [name for name in names if name.endswith(".so")]
    assert "cryptography/hazmat/bindings/_rust.abi3.so" in natives
    assert all(name.endswith((".cpython-312-aarch64-linux-gnu.so", ".abi3.so")) for name in natives)
    with zipfile.ZipFile(output) as archive:
        headers = {name: archive.open(name).read(20) for name in natives}
    # ELF, 64-bit, little-endian, e_machine 183 (EM_AARCH64).
    assert {header[:6] + header[18:20] for header in headers.values()} == {
        b"\x7fELF\x02\x01" + (183).to_bytes(2, "little")
    }
    # GitHub App routes sign their JWTs with these.
    assert {"jwt/api_jwt.py", "cffi/api.py", "pycparser/c_parser.py"} <= set(names)
    assert "cryptography/hazmat/primitives/serialization/__init__.py" in names
    assert "charset_normalizer/md.py" in names
    assert not [name for name in natives if name.startswith("charset_normalizer/")]
    record = output.with_name(output.name + package.ROUTES_HASH_SUFFIX)
    assert record.read_text() == hashlib.sha256(routes.read_bytes()).hexdigest() + "\n"


def test_routes_without_an_app_build_a_zip_without_the_app_libraries(tmp_path: Path, capsys):
    """The real build of routes without a github_app (one with its own token secret): no jwt,
    cryptography, cffi or pycparser, so no native code but the HTML parser's, and one line
    saying so.

    Downloads the pinned wheels from the package index (a few seconds).
    """
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n  - domain: issues.example.com\n    repo: example-org/app\n"
        "    allowed_senders: [example.com]\n    token_secret: ticket-router/app-token\n"
    )
    output = tmp_path / "ticket-router.zip"
    assert package.main(["--routes", str(routes), "--output", str(output)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{routes}: {NO_APP_LINE}"
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
    # The packages, cffi's extension module and the .dist-info folders of all four.
    app_only = ("jwt/", "pyjwt-", "cryptography", "cffi", "_cffi_backend", "pycparser")
    assert not [name for name in names if name.lower().startswith(app_only)]
    # The one native module left is the HTML parser's.
    assert [name for name in names if name.endswith(".so")] == [
        "selectolax/lexbor.cpython-312-aarch64-linux-gnu.so"
    ]
    assert "handler/github/credentials.py" in names
    assert "requests/sessions.py" in names


class Pip:
    """package._pip, recording which distributions each call would install and installing none."""

    def __init__(self) -> None:
        self.installed: set[str] = set()
        self.unhashed: set[str] = set()

    def __call__(self, lock: Path, target: Path, **platform: str | None) -> None:
        pins = read_lock(lock)
        self.installed |= {pin.name for pin in pins}
        self.unhashed |= {pin.name for pin in pins if not pin.hashes}


@pytest.mark.parametrize("with_app", [False, True], ids=["no-app", "app"])
def test_the_app_libraries_are_installed_only_for_an_app_route(
    tmp_path: Path, capsys, monkeypatch, with_app
):
    """Every pinned distribution is installed, but the GitHub App ones only when a route of the
    routes file packaged has a github_app; their absence is said in one line."""
    pip = Pip()
    monkeypatch.setattr(package, "_pip", pip)
    routes = app_routes(tmp_path) if with_app else ROOT / "routes.yaml"
    output = tmp_path / "z.zip"
    assert package.main(["--routes", str(routes), "--output", str(output)]) == 0
    pinned = {pin.name for pin in read_lock(ROOT / "requirements" / "lambda.txt")}
    assert pinned >= package.GITHUB_APP_ONLY
    out = capsys.readouterr().out.splitlines()
    assert pip.unhashed == set()
    if with_app:
        assert pip.installed == pinned
        assert len(out) == 1
        assert out[0].startswith(f"{output}: ")
    else:
        assert pip.installed == pinned - package.GITHUB_APP_ONLY
        assert out[0] == f"{routes}: {NO_APP_LINE}"
        assert out[1].startswith(f"{output}: ")


def test_an_app_route_without_the_app_libraries_is_not_packaged(tmp_path: Path, capsys):
    """A requirements file without jwt and cryptography cannot make a zip for an App route:
    the build stops (before any download) and names what is missing."""
    requirements = tmp_path / "r.txt"
    requirements.write_text(
        "".join(
            f"{pin} --hash=sha256:{'0' * 64}\n"
            for pin in ("requests==2.34.2", "cryptography==50.0.2", "cffi==2.1.1")
        )
    )
    routes = app_routes(tmp_path)
    output = tmp_path / "z.zip"
    argv = ["--requirements", str(requirements), "--routes", str(routes), "--output", str(output)]
    assert package.main(argv) == 1
    assert capsys.readouterr().err == (
        f"{routes}: a route posts as a GitHub App, but {requirements} lacks pycparser, pyjwt: "
        "not packaged\n"
    )
    assert not output.exists()


def lambda_python() -> Path | None:
    """A CPython 3.12 on this machine, found where the Makefile looks for one."""
    candidates = [Path("/usr/bin/python3.12"), Path("/usr/local/bin/python3.12")]
    candidates += sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return None


@pytest.mark.skipif(lambda_python() is None, reason="no CPython 3.12 on this machine")
def test_the_cold_start_modules_go_in_as_python_312_bytecode(tmp_path: Path):
    """Unchecked-hash .pyc files (no timestamps, sources never stat'ed) for what Lambda's init
    and a first mail import, naming their sources under /var/task: handler/'s beside its
    sources, the dependencies' in place of theirs; deterministic like the rest of the zip."""
    output = tmp_path / "ticket-router.zip"
    argv = ["--output", str(output), "--bytecode-python", str(lambda_python())]
    assert package.main(argv) == 0
    first = output.read_bytes()
    assert package.main(argv) == 0
    assert output.read_bytes() == first
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
        compiled = sorted(name for name in names if name.endswith(".pyc"))
        for folder, module in [
            ("handler", "lambda_function"),
            ("handler/routing", "load"),
            ("handler/inbound", "plan"),
            ("handler/inbound", "mail"),
            ("handler/github", "credentials"),  # every route's login
        ]:
            assert f"{folder}/__pycache__/{module}.cpython-312.pyc" in compiled
        for module in [
            "requests/sessions",  # a comment posted
            "aws_lambda_powertools/utilities/idempotency/persistence/dynamodb",  # a claim
        ]:
            assert f"{module}.pyc" in compiled
            assert f"{module}.py" not in names
        # Only what a cold start and a first mail import: not the whole of Powertools.
        assert not [name for name in compiled if "/event_handler/" in name]
        # Only a GitHub App's first login imports these (handler.github.credentials).
        assert not [name for name in compiled if name.startswith(("jwt/", "cryptography/"))]
        for name in compiled:
            if name.startswith("handler/"):
                assert name.endswith(".cpython-312.pyc")
                source = name.replace("__pycache__/", "").replace(".cpython-312.pyc", ".py")
                assert source in names
            else:
                assert "__pycache__" not in name
                source = name.removesuffix("c")
                assert source not in names
            data = archive.read(name)
            # PEP 552: the 3.12 magic number, then flags 0b01: hash-based, not checked.
            assert data[:4] == (3531).to_bytes(2, "little") + b"\r\n"
            assert int.from_bytes(data[4:8], "little") == 1
            # The path tracebacks show is where Lambda unpacks the zip, not the build's scratch.
            assert f"/var/task/{source}".encode() in data
            assert b"/tmp" not in data


def test_only_the_staged_tree_is_compiled(tmp_path: Path, monkeypatch):
    """The modules listed for compiling (whose sources a dependency's bytecode replaces) are
    the staged tree's only: never the standard library's or the build environment's."""
    task = tmp_path / "task"
    imported = [f"{task}/requests/api.py", "/usr/lib/python3.11/json/decoder.py", f"{task}x/a.py"]
    done = subprocess.CompletedProcess([], 0, stdout="\n".join(imported) + "\n")
    monkeypatch.setattr(package.subprocess, "run", lambda *args, **kwargs: done)
    assert package._cold_start_modules(task) == [f"{task}/requests/api.py"]


@pytest.mark.skipif(sys.version_info[:2] == (3, 12), reason="this interpreter is a 3.12")
def test_a_bytecode_python_that_is_not_312_is_refused(tmp_path: Path, capsys):
    """Bytecode of another Python would be ignored by Lambda's: the build stops and says so."""
    output = tmp_path / "z.zip"
    argv = ["--output", str(output), "--bytecode-python", sys.executable]
    assert package.main(argv) == 1
    version = ".".join(map(str, sys.version_info[:3]))
    assert (
        f"{sys.executable} is Python {version}, not the Lambda's 3.12\n" in capsys.readouterr().err
    )
    assert not output.exists()


# Run by the Lambda's Python from the unpacked zip: every module of handler/ and every module
# an import statement of handler/ names, then Lambda's init and a first mail on every path the
# test mails take (calendars, TNEF, RTF, HTML-only, legacy charsets), the webhook's and the
# outbox's entry points. Prints what could not be imported, as "module missing-module".
_FROM_THE_ZIP = """
import importlib, json, os, sys
names = json.loads(sys.argv[1])
for name in names:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        parent, _, attribute = name.rpartition(".")
        if not (error.name == name and hasattr(sys.modules.get(parent), attribute)):
            print(name, error.name)
from handler import lambda_function, outbox_function, webhook_function
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.inbound.mail import parse_mail
from handler.inbound.render import render_comment
runtime = lambda_function.runtime()
GitHubClient("token", deadline=Deadline.never())
for mail in sys.argv[2:]:
    with open(mail, "rb") as file:
        render_comment(parse_mail(file.read()), "7@issues.example.com")
print("rendered", len(sys.argv) - 2)
print("from", sorted({os.path.dirname(m.__file__ or "") for m in sys.modules.values()
    if getattr(m, "__file__", None) and "/handler/" in m.__file__})[0])
"""
# What the zip leaves out on purpose: the CLI's YAML tools, a GitHub App's (no App route here).
_LEFT_OUT = {"yaml", "jsonschema", "jwt", "cryptography"}


def this_machines_builds(task: Path) -> None:
    """Beside each native module of the unpacked zip (built for Lambda's arm64), the same
    pinned distribution's build for this machine and CPython 3.12, which this machine's Python
    picks by its file name (lexbor.cpython-312-x86_64-linux-gnu.so) and Lambda's ignores."""
    tops = {path.relative_to(task).parts[0] for path in task.glob("*/**/*.so")}
    if platform.machine() == "aarch64" or not tops:
        return
    pins = [pin for pin in read_lock(ROOT / "requirements" / "lambda.txt") if pin.name in tops]
    lock, built = task.parent / "natives.txt", task.parent / "natives"
    lock.write_text("".join(pin.text + "\n" for pin in pins))
    package._pip(lock, built, platform=f"manylinux2014_{platform.machine()}")
    for native in built.glob("*/**/*.so"):
        shutil.copyfile(native, task / native.relative_to(built))


@pytest.mark.skipif(lambda_python() is None, reason="no CPython 3.12 on this machine")
def test_every_entry_point_and_a_first_mail_run_from_the_built_zip(tmp_path: Path):
    """The trimmed zip unpacked read-only, with only what the python3.12 runtime adds (boto3
    and its needs) beside it: handler/'s every module and every import it names resolve (but
    the CLI's and the App's, left out), and Lambda's init and first mails of every kind run.

    Downloads the pinned wheels from the package index (a few seconds).
    """
    output = tmp_path / "ticket-router.zip"
    argv = ["--output", str(output), "--bytecode-python", str(lambda_python())]
    assert package.main(argv) == 0
    task, runtime = tmp_path / "task", tmp_path / "runtime"
    with zipfile.ZipFile(output) as archive:
        archive.extractall(task)
    runtime.mkdir()
    this_machines_builds(task)
    for provided in ("boto3", "botocore", "dateutil", "jmespath", "s3transfer", "six"):
        source = Path(importlib.import_module(provided).__file__ or "")
        source = source.parent if source.name == "__init__.py" else source
        (runtime / source.name).symlink_to(source)
    names = set()
    for path in (task / "handler").rglob("*.py"):
        name = package._module_name(path.relative_to(task))
        names |= {name} | package._imports(name, path)[0]
    names.discard("handler.__main__")  # the CLI, which would run
    mails = sorted(
        str(path)
        for folder in ("mail", "protocol", "render")
        for path in (ROOT / "tests" / folder).glob("*.eml")
    )
    for path in [task, *task.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    result = subprocess.run(  # noqa: S603 - the Lambda's Python, code of ours
        [str(lambda_python()), "-S", "-c", _FROM_THE_ZIP, json.dumps(sorted(names)), *mails],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": f"{task}:{runtime}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "ROUTES_FILE": str(task / package.ROUTES_IN_ZIP),
        },
        check=False,
    )
    for path in [task, *task.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    assert (result.returncode, result.stderr) == (0, "")
    *missing, rendered, where = result.stdout.splitlines()
    # boto3's type stubs are imported only under TYPE_CHECKING.
    tops = {line.split()[1].split(".")[0] for line in missing}
    assert {top for top in tops if not top.startswith("mypy_boto3_")} <= _LEFT_OUT, missing
    assert rendered == f"rendered {len(mails)}"
    assert where == f"from {task}/handler"


def test_nothing_outside_the_staged_tree_is_compiled_or_removed(tmp_path: Path):
    """A module path from elsewhere (the standard library) stops the build before any change."""
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    with pytest.raises(ValueError, match="never compiled"):
        package._compile(Path(sys.executable), tmp_path / "task", [str(outside)])
    assert outside.read_text() == "x = 1\n"
