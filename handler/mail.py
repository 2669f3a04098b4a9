"""MIME bytes -> a typed, fully decoded Message.

Pure: no I/O. Every input, however broken, yields a Message; problems are recorded in
``Message.defects`` rather than raised, so that every mail still gets a decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Address:
    """One mailbox. ``domain`` is lowercased ASCII (IDN domains in their xn-- form)."""

    name: str
    local: str
    domain: str

    @property
    def addr(self) -> str:
        return f"{self.local}@{self.domain}"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Message:
    # Top-level header fields in their original order: name as written, value unfolded but
    # otherwise raw (no RFC 2047 decoding), because SES's own block is judged on raw text.
    headers: tuple[tuple[str, str], ...]
    message_id: str | None
    subject: str
    from_: tuple[Address, ...]
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    content_type: str
    text: str | None
    html: str | None
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """The first header field called ``name`` (case-insensitive), raw."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self.headers if n.lower() == wanted]
