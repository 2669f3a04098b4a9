"""Which issue a mail thread belongs to, for mail that reaches a new-issue address again.

The rules, and why: docs/inbound.md#threads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from handler.inbound.mail import Message
from handler.reasons import Reason, TicketRouterError

_KEY_PREFIX = "thread"
# References grow by one id per reply; the newest few say which thread a mail is in.
MAX_REFERENCES = 10
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")


class ThreadStoreError(TicketRouterError):
    """The thread map cannot be read or written; trying again later may succeed."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.THREAD_STORE_UNAVAILABLE, detail)


class Threads(Protocol):
    def find(self, repo: str, message_ids: Sequence[str]) -> int | None: ...

    def remember(self, repo: str, message_ids: Sequence[str], issue: int) -> None: ...


def thread_ids(message: Message) -> tuple[str, ...]:
    """The Message-IDs ``message`` answers, newest first: In-Reply-To, then References from
    its end; the mail's own Message-ID is never among them. Of a long thread, the newest and
    the root (References' first id: the mail that started it, which is the one remembered)."""
    found: dict[str, None] = {}
    for name in ("In-Reply-To", "References"):
        values = message.header_all(name)
        ids = [match.group(1) for value in values for match in _MESSAGE_ID.finditer(value)]
        for message_id in reversed(ids) if name == "References" else ids:
            if message_id != message.message_id:
                found.setdefault(message_id)
    ordered = tuple(found)
    if len(ordered) <= MAX_REFERENCES:
        return ordered
    return (*ordered[: MAX_REFERENCES - 1], ordered[-1])


def confirmation_id(mail: str, domain: str) -> str:
    """The Message-ID (without <>) of the confirmation for the issue mail ``mail`` opened.

    Derived from the mail, so that the thread map can hold it before the confirmation is sent
    and a redelivered mail's confirmation carries the same id; short, so that the header is not
    folded for a domain of ordinary length.
    """
    return f"opened.{mail}@{domain}"


class NoThreads:
    """No thread map (the CLI without --table): every new-issue mail opens an issue."""

    def find(self, repo: str, message_ids: Sequence[str]) -> int | None:
        return None

    def remember(self, repo: str, message_ids: Sequence[str], issue: int) -> None:
        return None
