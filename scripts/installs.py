"""Run an installer (pip, uv) quietly: nothing on success, one line on failure.

A build's installs are pinned and hash-checked, so what pip and uv print is either noise (a
warning about the machine's own pip configuration, retries that then succeeded) or, when they
fail, dozens of retry lines and a traceback-like chain of causes. One line says what failed and
why: the package index cannot be reached (and how), a download does not match its lock, or the
installer's last error line.

The Makefile runs its installs through it (the standard library only: it runs before the
virtual environment exists)::

    python3 scripts/installs.py "the build tools" -- .venv/bin/pip install ...

and scripts/package.py calls ``run`` for its downloads.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

# What pip (urllib3) and uv (reqwest) print when the index cannot be reached, and how to say it.
_UNREACHABLE = (
    (("Connection refused",), "connection refused"),
    (
        (
            "Name or service not known",
            "Temporary failure in name resolution",
            "NameResolutionError",
            "nodename nor servname",
            "getaddrinfo failed",
            "failed to lookup address",
            "dns error",
        ),
        "its host name does not resolve",
    ),
    (("Network is unreachable",), "the network is unreachable"),
    (("timed out", "ConnectTimeout", "operation timed out"), "the connection timed out"),
    (("ProxyError", "proxy error"), "the proxy refused the connection"),
    (("SSLError", "CERTIFICATE_VERIFY_FAILED", "certificate"), "its TLS certificate failed"),
    (
        ("is not a trusted or secure host",),
        "pip ignores an http:// index that is not a --trusted-host",
    ),
    (
        (
            "NewConnectionError",
            "Failed to establish a new connection",
            "error sending request",
        ),
        "the connection failed",
    ),
)
_HASH_MISMATCH = ("DO NOT MATCH THE HASHES", "Hash mismatch")
HINT = "check the network, or point PIP_INDEX_URL and UV_INDEX_URL at a mirror you can reach"


class InstallError(Exception):
    """An install failed; the message is the one line that says why."""


def run(command: Sequence[str], what: str) -> None:
    """Run ``command``, an install of ``what``, its output kept back; InstallError if it fails."""
    try:
        # Not check=True: a failure is worded from the output, not raised with the command line.
        done = subprocess.run(  # noqa: S603 - the build's own installer, fixed arguments
            list(command), capture_output=True, text=True, errors="replace", check=False
        )
    except OSError as error:
        raise InstallError(f"cannot install {what}: {command[0]} cannot be run: {error}") from None
    if done.returncode != 0:
        raise InstallError(
            f"cannot install {what}: {failure(done.stdout + done.stderr, done.returncode)}"
        )


def failure(output: str, returncode: int) -> str:
    """Why an install whose output was ``output`` failed, in a few words."""
    # A mismatch first: retries that then succeeded leave connection errors in the output.
    if any(marker in output for marker in _HASH_MISMATCH):
        return (
            "a download does not match its hash in the lock (a changed file, or an index that "
            "serves another build of it)"
        )
    lowered = output.lower()
    for markers, words in _UNREACHABLE:
        if any(marker.lower() in lowered for marker in markers):
            return f"the package index cannot be reached ({words}); {HINT}"
    errors = [
        line.strip().removeprefix("ERROR:").removeprefix("error:").strip()
        for line in output.splitlines()
        if line.lstrip().startswith(("ERROR:", "error:"))
    ]
    return errors[-1] if errors else f"the installer exited with status {returncode}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        print("usage: installs.py WHAT -- COMMAND...", file=sys.stderr)
        return 2
    try:
        run(args[2:], args[0])
    except InstallError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
