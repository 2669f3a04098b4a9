"""The hash-pinned locks in requirements/, read as the installers read them.

A lock is what ``uv pip compile --generate-hashes`` writes: one entry per distribution,
``name==version ; marker`` followed by its ``--hash`` options, continued over several lines with
backslashes, and ``#`` comments. Entries are kept whole so that a subset of a lock can be written
to a file of its own and installed with ``--require-hashes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LOCKS = Path(__file__).resolve().parent.parent / "requirements"
# PEP 503: names compare lowercased, with runs of -, _ and . as one -.
_SEPARATORS = re.compile(r"[-_.]+")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(?P<version>\S+)$")


@dataclass(frozen=True)
class Pin:
    """One entry of a lock: a distribution at one version, where ``marker`` holds."""

    name: str
    version: str
    marker: str
    hashes: tuple[str, ...]
    text: str


class LockError(ValueError):
    """A line of a lock that pins nothing (a range, a URL, an option other than --hash)."""


def normalize(name: str) -> str:
    """The PEP 503 form of a distribution name, as locks and metadata are compared."""
    return _SEPARATORS.sub("-", name).lower()


def read_lock(path: Path) -> list[Pin]:
    """The entries of the lock at ``path``, in the order written."""
    return parse_lock(path.read_text(encoding="utf-8"), str(path))


def parse_lock(text: str, source: str) -> list[Pin]:
    """The entries of a lock's text; ``source`` names it in errors."""
    pins = []
    for number, line in _logical_lines(text):
        words = line.split()
        hashes = tuple(word.removeprefix("--hash=") for word in words if word.startswith("--hash="))
        requirement = " ".join(word for word in words if not word.startswith("--hash="))
        spec, _, marker = requirement.partition(";")
        match = _PIN.match(spec.strip())
        if match is None:
            raise LockError(f"{source}:{number}: not a pin (name==version): {requirement}")
        pins.append(
            Pin(
                name=normalize(match["name"]),
                version=match["version"],
                marker=marker.strip(),
                hashes=hashes,
                text=" ".join([requirement, *(f"--hash={digest}" for digest in hashes)]),
            )
        )
    return pins


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Each entry as one line (continuations joined, comments dropped), with its first line's
    number."""
    entries: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        if not pending:
            start = number
        continued = line.rstrip().endswith("\\")
        pending.append(line.rstrip().removesuffix("\\").strip())
        if not continued:
            joined = " ".join(part for part in pending if part)
            if joined:
                entries.append((start, joined))
            pending = []
    if any(pending):
        entries.append((start, " ".join(part for part in pending if part)))
    return entries


def installed_closure(names: set[str]) -> set[str]:
    """The named distributions and every one they need, as installed here (extras left out)."""
    from importlib.metadata import distribution  # noqa: PLC0415 - only the checks need these

    from packaging.requirements import Requirement  # noqa: PLC0415

    seen: set[str] = set()
    todo = [normalize(name) for name in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(normalize(requirement.name))
    return seen
