"""Installs in a build (scripts/installs.py, scripts/package.py, the Makefile): silent when they
work, one line when they fail, never a traceback or a screen of pip's retries."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import installs, package
from tests.conftest import ROOT

HINT = "check the network, or point PIP_INDEX_URL and UV_INDEX_URL at a mirror you can reach"
REFUSED = f"the package index cannot be reached (connection refused); {HINT}"
NO_HOST = f"the package index cannot be reached (its host name does not resolve); {HINT}"
# What pip 26 (urllib3 2) prints when the index refuses the connection, shortened.
PIP_REFUSED = """\
WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after \
connection broken by 'NewConnectionError("HTTPConnection(host='127.0.0.1', port=9): Failed to \
establish a new connection: [Errno 111] Connection refused")': /aws-lambda-powertools/
ERROR: Could not find a version that satisfies the requirement aws-lambda-powertools==3.37.0 \
(from versions: none)
ERROR: No matching distribution found for aws-lambda-powertools==3.37.0
"""
# pip 23 (the one python3 -m venv brings), for a host name that does not resolve.
PIP_NO_HOST = """\
WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after \
connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection \
object at 0x7f4c3d882450>: Failed to establish a new connection: [Errno -2] Name or service not \
known')': /simple/flit-core/
ERROR: No matching distribution found for flit-core==4.2.0
"""
UV_REFUSED = """\
error: Request failed after 3 retries in 5.9s
  cause: Failed to fetch: http://127.0.0.1:9/uv/
  cause: error sending request for url (http://127.0.0.1:9/uv/)
  cause: client error (Connect)
  cause: tcp connect error
  cause: Connection refused (os error 111)
"""
UV_NO_HOST = """\
error: Request failed after 3 retries in 5.8s
  cause: Failed to fetch: http://nonexistent.invalid/simple/pip/
  cause: error sending request for url (http://nonexistent.invalid/simple/pip/)
  cause: client error (Connect)
  cause: dns error
  cause: error resolving DNS
  cause: failed to lookup address information: Name or service not known
"""
PIP_UNTRUSTED = """\
WARNING: The repository located at mirror.example is not a trusted or secure host and is being \
ignored.
ERROR: No matching distribution found for flit-core==4.2.0
"""
PIP_HASHES = """\
ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated \
the package versions, please update the hashes. Otherwise, examine the package contents carefully.
    six==1.17.0 from https://files.example/six-1.17.0-py2.py3-none-any.whl:
        Expected sha256 00
             Got        27
"""


@pytest.mark.parametrize(
    ("output", "why"),
    [
        (PIP_REFUSED, REFUSED),
        (PIP_NO_HOST, NO_HOST),
        (UV_REFUSED, REFUSED),
        (UV_NO_HOST, NO_HOST),
        (
            PIP_UNTRUSTED,
            "the package index cannot be reached (pip ignores an http:// index that is not a "
            f"--trusted-host); {HINT}",
        ),
        (
            PIP_HASHES,
            "a download does not match its hash in the lock (a changed file, or an index that "
            "serves another build of it)",
        ),
        # Anything else: the installer's own last error line.
        (
            "ERROR: Could not find a version that satisfies the requirement x==1\n"
            "ERROR: No matching distribution found for x==1\n",
            "No matching distribution found for x==1",
        ),
        ("Segmentation fault\n", "the installer exited with status 139"),
    ],
    ids=["pip-refused", "pip-no-host", "uv-refused", "uv-no-host", "pip-http", "hashes",
         "other-error", "no-error-line"],
)  # fmt: skip
def test_a_failed_install_is_worded_in_one_line(output: str, why: str):
    """pip's and uv's failures, as they print them, in the words the build prints."""
    assert installs.failure(output, 139) == why


def script(*argv: str) -> subprocess.CompletedProcess[str]:
    """scripts/installs.py as the Makefile runs it: its own interpreter, no package imported."""
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, str(ROOT / "scripts" / "installs.py"), *argv],
        capture_output=True,
        text=True,
        check=False,
    )


def test_an_install_that_works_prints_nothing():
    """Its warnings (pip's about the machine's own configuration, say) are not the build's."""
    command = "import sys; print('WARNING: Location is ignored', file=sys.stderr)"
    done = script("the build tools", "--", sys.executable, "-c", command)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_an_install_that_fails_prints_one_line_and_exits_1():
    """pip's retries and errors are summed up in one line naming what was being installed."""
    command = f"import sys; sys.stderr.write({PIP_REFUSED!r}); sys.exit(1)"
    done = script("the build tools", "--", sys.executable, "-c", command)
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        f"cannot install the build tools: {REFUSED}\n",
    )


def test_an_installer_that_cannot_be_run_is_one_line():
    """A missing installer is named, not a FileNotFoundError traceback."""
    done = script("the build tools", "--", "/nonexistent/pip", "install")
    assert done.returncode == 1
    assert done.stderr == (
        "cannot install the build tools: /nonexistent/pip cannot be run: [Errno 2] No such file "
        "or directory: '/nonexistent/pip'\n"
    )


def test_installs_py_without_a_command_shows_its_usage():
    """The Makefile's mistake, not a user's: exit 2 and the usage."""
    done = script("the build tools")
    assert (done.returncode, done.stderr) == (2, "usage: installs.py WHAT -- COMMAND...\n")


@pytest.fixture
def no_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """No package index: one that refuses connections, no configured mirror or wheel folder,
    one retry (pip's five take seconds)."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_RETRIES", "1")
    monkeypatch.setenv("UV_NO_CACHE", "1")


def test_package_without_a_package_index_is_one_line(no_index, tmp_path: Path, capsys):
    """The Lambda's wheels cannot be downloaded: one line on stderr, exit 1, no zip."""
    output = tmp_path / "ticket-router.zip"
    assert package.main(["--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"{package.LOCKS / 'lambda.txt'}: not packaged: cannot install the Lambda's "
        f"dependencies: {REFUSED}\n"
    )
    assert not output.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_package_in_a_fresh_clone_without_a_package_index_is_one_line(
    no_index, tmp_path: Path
):
    """The first install of a fresh clone (the build tools into a new venv) fails in one line
    of ours, then make's own; no retries, no traceback."""
    venv = tmp_path / ".venv"
    # As typed in a shell: under `make test`, make's own variables would make this a sub-make,
    # whose error line says make[1].
    shell = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["make", "--no-print-directory", "package", f"VENV={venv}"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=shell,
    )
    ours, make = done.stderr.splitlines()
    assert (done.returncode, ours) == (
        2,
        f"cannot install the build tools: {REFUSED}",
    )
    assert re.fullmatch(
        rf"make: \*\*\* \[Makefile:\d+: {re.escape(str(venv))}/\.tools\] Error 1", make
    )
