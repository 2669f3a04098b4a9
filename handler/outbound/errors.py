"""What the outbound core's adapters raise when the outside fails."""

from __future__ import annotations

from handler.reasons import TicketRouterError


class OutboundError(TicketRouterError):
    """A secret, a store, the queue or SES failed: ``reason`` is what the caller answers or
    logs, ``detail`` says what failed (never an address or a secret's value)."""
