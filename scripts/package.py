"""Build the Lambda deployment zip: handler/, the routes and the runtime dependencies.

Dependencies are installed as wheels for the Lambda platform (CPython 3.12, manylinux arm64),
never for the machine running this, and the zip is deterministic (sorted entries, fixed
timestamps and modes) so that its hash, which Terraform deploys by, changes only with its
content: an edited routes.yaml deploys, an unchanged tree does not.

The routes go in as ``routes.json``: the routes file validated here, indexed by domain and
sealed with its digest (handler/routing/packaged.py). The functions load it in milliseconds,
whatever the number of routes, without validating it again, and need neither PyYAML nor
jsonschema (left out of the zip, see requirements/lambda.in).

Every distribution comes from the hash-pinned lock requirements/lambda.txt (``make lock``),
installed with ``--require-hashes`` and without resolving anything anew. pip's output is kept
back (scripts/installs.py): a build that works prints no warning of pip's, and one that cannot
download says why in one line (the package index cannot be reached, a hash does not match).

The GitHub App libraries (PyJWT, and cryptography with cffi and pycparser: 5 MB of a 7 MB zip)
go in only when a route of the routes file packaged names a ``github_app``: only an App login
imports them (handler.github.credentials). A zip serves the one routes file it was built from (see
below), so a route that gains an app comes with a rebuild; a zip without them answers an App
login with the transient ``github-app-unsupported``, and an App route whose requirements file
lacks them is not packaged.

Only what can be imported goes in: not the C and Cython sources, stubs and tests of the
dependencies, nor their metadata beyond METADATA and licences, and of Powertools only the modules
that an import statement reaches from handler/ (_reached says which).

With ``--bytecode-python`` naming a CPython 3.12 (the Lambda's version), the modules that a cold
start and a first mail import also go in compiled, as unchecked-hash .pyc files: /var/task is
read-only, so without them Lambda compiles those modules again on every cold start (about
0.15 s). handler/'s go beside their sources; a dependency's replace its source (a sourceless
.pyc), which would cost 2.8 times as much beside it. Hash-based .pyc files hold no timestamp and
name their sources under /var/task, so the zip stays deterministic.

Beside the zip, ``<zip>.routes-sha256`` records the SHA-256 of the routes file packaged; Terraform
refuses to deploy a zip whose routes file is not the one it reads the SES domains from.

    python scripts/package.py --requirements requirements/lambda.txt --routes routes.yaml \
        --output dist/ticket-router.zip
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The routes are validated and converted by the handler's own code, run from this checkout.
sys.path.insert(0, str(ROOT))
from handler.routing import GitHubApp, Routes, RoutesError, parse_routes, routes_json  # noqa: E402
from scripts.installs import InstallError, run  # noqa: E402
from scripts.locks import LOCKS, LockError, Pin, read_lock  # noqa: E402

PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
# The python3.12 runtime provides these; shipping our own would only grow the zip.
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil"}
# What only reads and words routes.yaml (the CLI, this script): the zip holds routes.json.
CLI_ONLY = {"pyyaml", "jsonschema"}
# Installed from their pure-Python wheels: charset-normalizer's compiled one (170 KB more in the
# zip) only speeds up guessing the charset of a response, and GitHub's JSON is always UTF-8.
PURE_PYTHON = {"charset-normalizer"}
# Only a GitHub App login imports these (jwt signs the JWT, cryptography reads the app's key;
# cffi and pycparser are cryptography's): 5 MB zipped, left out when no route posts as an App.
GITHUB_APP_ONLY = {"pyjwt", "cryptography", "cffi", "pycparser"}
# Toolkits of which the function uses a few parts (Powertools: 1.2 MB zipped, a tenth of it
# used): only their modules that an import statement reaches from handler/ go in (_reached).
TRIMMED_TO_IMPORTS = {"aws_lambda_powertools"}
# What the python3.12 runtime can import beside the zip (boto3 and what it needs).
RUNTIME_MODULES = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"}
# Zip entries get this timestamp (the earliest a zip can hold) and these modes.
EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16
_SKIPPED_PARTS = {"__pycache__", "tests"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}
# What no import reads, left out of the dependencies: the C and Cython sources of extension
# modules shipped compiled (selectolax's lexbor.c alone is 390 KB zipped), type stubs and markers.
_UNIMPORTED_SUFFIXES = {".c", ".h", ".pyx", ".pxd", ".pxi", ".pyi", ".typed"}
# Of a distribution's metadata, what importlib.metadata reads (stamina's __version__) and the
# licences its copies must carry; RECORD would list the files left out here as installed.
_KEPT_METADATA = {"METADATA"}
_LICENSE_PREFIXES = ("LICEN", "COPYING", "NOTICE", "AUTHORS")
# terraform/modules/function reads this file next to the package it deploys.
ROUTES_HASH_SUFFIX = ".routes-sha256"
# Where the routes are in the zip; terraform/modules/function points ROUTES_FILE there.
ROUTES_IN_ZIP = "routes.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=LOCKS / "lambda.txt", help="a lock")
    parser.add_argument("--routes", type=Path, default=ROOT / "routes.yaml")
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "ticket-router.zip")
    parser.add_argument(
        "--bytecode-python",
        type=Path,
        help="a CPython 3.12 to compile what a cold start and a first mail import",
    )
    args = parser.parse_args(argv)

    pins, refused = _lambda_pins(args.requirements)
    if refused:
        print(refused, file=sys.stderr)
        return 1
    names = {pin.name for pin in pins}
    try:
        text = args.routes.read_text(encoding="utf-8-sig")
        routes = routes_json(text, str(args.routes))
        as_app = posts_as_github_app(parse_routes(text, str(args.routes)))
    except RoutesError as error:
        print("\n".join(error.errors), file=sys.stderr)
        print(f"{args.routes}: not packaged", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as error:
        print(f"{args.routes}: cannot be read, not packaged: {error}", file=sys.stderr)
        return 1
    if as_app and GITHUB_APP_ONLY - names:
        lacking = ", ".join(sorted(GITHUB_APP_ONLY - names))
        print(
            f"{args.routes}: a route posts as a GitHub App, but {args.requirements} lacks "
            f"{lacking}: not packaged",
            file=sys.stderr,
        )
        return 1
    if not as_app and names & GITHUB_APP_ONLY:
        left_out = ", ".join(sorted(names & GITHUB_APP_ONLY))
        print(f"{args.routes}: no route posts as a GitHub App: {left_out} left out")
        pins = [pin for pin in pins if pin.name not in GITHUB_APP_ONLY]
    with tempfile.TemporaryDirectory() as scratch:
        task = Path(scratch) / "task"
        try:
            _install(pins, task)
        except InstallError as error:
            print(f"{args.requirements}: not packaged: {error}", file=sys.stderr)
            return 1
        for source, name in _tree(ROOT / "handler", ROOT):
            (task / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, task / name)
        (task / ROUTES_IN_ZIP).write_text(routes, encoding="utf-8")
        for top in TRIMMED_TO_IMPORTS:
            _trim(task, top)
        if args.bytecode_python:
            try:
                _compile(args.bytecode_python, task, _cold_start_modules(task))
            except subprocess.CalledProcessError as error:
                print(f"{error.stderr or ''}no bytecode: the build failed", file=sys.stderr)
                return 1
            except OSError as error:
                print(f"{args.bytecode_python} cannot be run: {error}", file=sys.stderr)
                return 1
        args.output.parent.mkdir(parents=True, exist_ok=True)
        write_zip(((path, path.relative_to(task).as_posix()) for path in _files(task)), args.output)
    write_routes_hash(args.routes, args.output)
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(f"{args.output}: {args.output.stat().st_size:,} bytes, sha256 {digest}")
    return 0


def _lambda_pins(lock: Path) -> tuple[list[Pin], str]:
    """The entries of ``lock``, or why it cannot make a zip."""
    try:
        pins = read_lock(lock)
    except (OSError, UnicodeDecodeError, LockError) as error:
        return [], f"{lock}: cannot be read as a lock, not packaged: {error}"
    names = {pin.name for pin in pins}
    for unwanted, why in (
        (names & PROVIDED_BY_RUNTIME, "the Lambda runtime has it"),
        (names & CLI_ONLY, "the function reads routes.json, not YAML"),
    ):
        if unwanted:
            return [], f"{lock}: leave out {', '.join(sorted(unwanted))}: {why}"
    unhashed = ", ".join(sorted(pin.name for pin in pins if not pin.hashes))
    if unhashed:
        return (
            [],
            f"{lock}: not a hash-pinned lock (make lock), no --hash for {unhashed}: not packaged",
        )
    return pins, ""


def posts_as_github_app(routes: Routes) -> bool:
    """Whether any route posts as a GitHub App, so that the zip needs GITHUB_APP_ONLY."""
    return any(isinstance(route.credential, GitHubApp) for route in routes.routes)


def write_routes_hash(routes: Path, output: Path) -> Path:
    """Record which routes file ``output`` holds, as the hex digest Terraform's filesha256 gives."""
    record = output.with_name(output.name + ROUTES_HASH_SUFFIX)
    record.write_text(hashlib.sha256(routes.read_bytes()).hexdigest() + "\n", encoding="utf-8")
    return record


def write_zip(files: Iterable[tuple[Path, str]], output: Path) -> None:
    """Write ``(source, name in zip)`` pairs deterministically: sorted, fixed times and modes."""
    partial = output.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source, name in sorted(files, key=lambda pair: pair[1]):
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes(), compresslevel=9)
    partial.replace(output)


def _tree(folder: Path, relative_to: Path) -> Iterator[tuple[Path, str]]:
    for path in folder.rglob("*"):
        parts = set(path.relative_to(relative_to).parts)
        if path.is_file() and not parts & _SKIPPED_PARTS and path.suffix not in _SKIPPED_SUFFIXES:
            yield path, path.relative_to(relative_to).as_posix()


def _files(folder: Path) -> Iterator[Path]:
    # A dependency's own test suite (icalendar's is 880 KB) is never imported by the function.
    return (
        path
        for path in folder.rglob("*")
        if path.is_file()
        and "tests" not in path.relative_to(folder).parts
        and path.suffix not in _UNIMPORTED_SUFFIXES
        and _kept_metadata(path.relative_to(folder).parts)
    )


def _kept_metadata(parts: tuple[str, ...]) -> bool:
    if not parts[0].endswith(".dist-info") or len(parts) == 1:
        return True
    return (
        parts[1] in _KEPT_METADATA
        or parts[1] == "licenses"
        or parts[-1].startswith(_LICENSE_PREFIXES)
    )


def _trim(task: Path, top: str) -> None:
    """Leave only the modules of ``top`` that handler/ reaches, and the data beside them."""
    kept = _reached(task, top)
    folders = {path.parent for path in kept}
    for path in sorted((task / top).rglob("*"), reverse=True):
        if path.is_file() and (
            path not in kept if path.suffix == ".py" else path.parent not in folders
        ):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _reached(task: Path, top: str) -> set[Path]:
    """The modules of ``top`` that some import statement reaches from handler/, following every
    import of theirs, deferred ones too (the sure side: what runs only on a rare path is kept).

    Not followed: imports of a module that could never be imported from the zip, because its
    own module-level imports need something neither the zip, the runtime nor the standard
    library has (Powertools' parser and OpenAPI code need Pydantic). Such an import fails there
    with ModuleNotFoundError whether or not the module is in the zip.
    """
    modules = {
        _module_name(path.relative_to(task)): path
        for folder in ("handler", top)
        for path in (task / folder).rglob("*.py")
    }
    imports = {name: _imports(name, path) for name, path in modules.items()}
    available = set(sys.stdlib_module_names) | RUNTIME_MODULES
    available |= {path.name.split(".")[0] for path in task.iterdir()}
    broken = {
        name
        for name, (_, needed) in imports.items()
        if {n.split(".")[0] for n in needed} - available
    }
    while True:
        more = {
            name
            for name, (_, needed) in imports.items()
            if name not in broken and (_parents(name) | needed) & modules.keys() & broken
        }
        if not more:
            break
        broken |= more
    reached: set[str] = set()
    todo = [name for name in modules if name.split(".")[0] == "handler"]
    while todo:
        name = todo.pop()
        if name in reached or name not in modules or name in broken:
            continue
        reached.add(name)
        todo += [*_parents(name), *imports[name][0]]
    return {modules[name] for name in reached if name.split(".")[0] == top}


def _module_name(relative: Path) -> str:
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """What ``path`` may import anywhere, and what its module body imports for certain."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_bytes(), str(path))
    anywhere: set[str] = set()
    certain: set[str] = set()
    for node in ast.walk(tree):
        named: set[str] = set()
        needs: set[str] = set()
        if isinstance(node, ast.Import):
            named = needs = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from x import y` needs x; y may be a name in it rather than a module.
            named, needs = {module} | {f"{module}.{alias.name}" for alias in node.names}, {module}
        anywhere |= named
        if node in tree.body:
            certain |= needs
    return anywhere, certain


# Run in the build's own interpreter with the staged tree first on the path: Lambda's init and
# what a first mail brings in on each path (a posted comment, its claim, an HTML-only body), the
# webhook's and the outbox's entry points with the Markdown renderer of the outbox's first mail,
# and every module file from the tree that this imported. The tree's native modules are built for
# Lambda (arm64, CPython 3.12), so a package that holds one (selectolax) also searches this
# interpreter's own installation of it, where its native modules are built for this machine.
_LIST_IMPORTS = """
import importlib, importlib.machinery, importlib.util, sys
elsewhere = sys.path[2:]  # after "" and the tree (both the working directory)
for native in sys.argv[1:]:
    package = importlib.import_module(native)
    here = importlib.machinery.PathFinder.find_spec(native, elsewhere)
    if here and here.submodule_search_locations:
        package.__path__.extend(here.submodule_search_locations)
import markdown_it
from handler import lambda_function, outbox_function, webhook_function
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.inbound.html_markdown import html_to_markdown
runtime = lambda_function.runtime()
GitHubClient("token", deadline=Deadline.never())
import aws_lambda_powertools.utilities.idempotency.idempotency
import aws_lambda_powertools.utilities.idempotency.persistence.dynamodb
import aws_lambda_powertools.utilities.parameters.secrets
html_to_markdown("<p>Hello <a href='https://example.org/'>there</a></p>")
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path.endswith(".py"):
        print(path)
# botocore's first client tries this module, whose import then fails without pyOpenSSL: not in
# sys.modules, yet compiled on every cold start unless its bytecode is there.
print(importlib.util.find_spec("urllib3.contrib.pyopenssl").origin)
"""

# Run in the 3.12 interpreter: compile each listed file as Lambda would find it, under /var/task,
# into __pycache__ or, for a line ending in "c", beside it as foo.pyc.
_COMPILE = """
import py_compile, sys
if sys.version_info[:2] != (3, 12):
    sys.exit(f"{sys.executable} is Python {sys.version.split()[0]}, not the Lambda's 3.12")
root = sys.argv[1]
for line in sys.stdin.read().split():
    source = line.removesuffix("c")
    py_compile.compile(
        source, cfile=line if line != source else None,
        dfile="/var/task/" + source[len(root) + 1 :], doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
"""


def _cold_start_modules(task: Path) -> list[str]:
    environment = os.environ | {
        "PYTHONPATH": str(task),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ROUTES_FILE": str(task / ROUTES_IN_ZIP),
    }
    natives = sorted({path.relative_to(task).parts[0] for path in task.glob("*/**/*.so")})
    found = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", _LIST_IMPORTS, *natives],
        env=environment,
        cwd=task,
        capture_output=True,
        text=True,
        check=True,
    )
    # Only the staged tree's: the compiler must never write to (or delete from) the standard
    # library or the environment this build runs in.
    staged = str(task) + "/"
    return sorted({path for path in found.stdout.split() if path.startswith(staged)})


def _compile(python: Path, task: Path, modules: list[str]) -> None:
    # A dependency's compiled module goes in without its source, as a sourceless foo.pyc that
    # Python imports in place of foo.py: a .pyc zips to about 1.8 times its source, so source
    # and bytecode both would cost 2.8 times. Its tracebacks keep file and line, not the line's
    # text. handler/ keeps its sources (our tracebacks show our code) beside __pycache__.
    own = str(task / "handler") + "/"
    outside = [module for module in modules if not module.startswith(f"{task}/")]
    if outside:
        raise ValueError(f"not in the staged tree, never compiled: {', '.join(outside)}")
    lines = [module if module.startswith(own) else module + "c" for module in modules]
    # A fixed hash seed: marshal writes sets and frozensets in hash order.
    subprocess.run(  # noqa: S603 - the interpreter the caller named, fixed arguments
        [str(python), "-c", _COMPILE, str(task)],
        input="\n".join(lines),
        env=os.environ | {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"},
        text=True,
        capture_output=True,
        check=True,
    )
    for line in lines:
        if line.endswith(".pyc"):
            Path(line.removesuffix("c")).unlink()


def _install(pins: list[Pin], target: Path) -> None:
    for which, platform in (
        ([pin for pin in pins if pin.name not in PURE_PYTHON], {"platform": PLATFORM}),
        (
            [pin for pin in pins if pin.name in PURE_PYTHON],
            {"platform": "any", "implementation": "py", "abi": "none"},
        ),
    ):
        if which:
            lock = target.parent / f"requirements-{platform['platform']}.txt"
            lock.write_text("".join(pin.text + "\n" for pin in which), "utf-8")
            _pip(lock, target, **platform)
            # Console scripts are built for this machine's interpreter path; Lambda never runs
            # them (and pip warns when the next install finds the folder).
            shutil.rmtree(target / "bin", ignore_errors=True)


def _pip(
    lock: Path, target: Path, *, platform: str, implementation: str = "cp", abi: str | None = None
) -> None:
    # --no-deps: requirements/lambda.txt pins the whole closure, so nothing is resolved anew.
    # --no-compile: bytecode would be for this interpreter, and the RECORD files listing it would
    # make the zip differ between a 3.11 and a 3.12 build machine.
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-input", "--no-deps", "--no-compile", "--only-binary=:all:", "--require-hashes",
        "--platform", platform, "--implementation", implementation,
        "--python-version", PYTHON_VERSION, *(["--abi", abi] if abi else []),
        "--target", str(target), "-r", str(lock),
    ]  # fmt: skip
    run(command, "the Lambda's dependencies")


if __name__ == "__main__":
    sys.exit(main())
