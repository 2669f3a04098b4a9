"""Why a routes file cannot be used: its own module, so that reading routes.json does not import
the validation that ``make package`` ran."""

from __future__ import annotations

from collections.abc import Iterable


class RoutesError(Exception):
    """The routes file cannot be used; ``errors`` holds every problem found, one per line."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


class RoutesUnreadable(RoutesError):
    """The routes file cannot be read at all: missing, not a file, not UTF-8, or no YAML reader
    here. ``check`` exits 2 for it, 1 for a file that was read and is invalid."""
