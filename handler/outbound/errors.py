"""What the outbound core's adapters raise when the outside fails."""

from __future__ import annotations

from handler.reasons import Reason, TicketRouterError


class OutboundError(TicketRouterError):
    """A secret, a store, the queue or SES failed: ``reason`` is what the caller answers or
    logs, ``detail`` says what failed (never an address or a secret's value)."""


class MailOutcomeUnknown(OutboundError):
    """The mail went to SES but no answer came back: it may have been sent, and sending it
    again could deliver it twice."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.MAIL_OUTCOME_UNKNOWN, detail)
