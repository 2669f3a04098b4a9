"""StoreError, raised for a mail or a secret that cannot be read, and how an AWS failure is
named in any adapter's detail. Clients are passed in, so the Lambda builds them once per
container and tests hand in moto's."""

from __future__ import annotations

from botocore.exceptions import ClientError

from handler.reasons import TicketRouterError


class StoreError(TicketRouterError):
    """A mail or secret that cannot be read; ``transient`` when a retry may succeed."""


def error_code(error: Exception) -> str:
    """What an AWS call's failure is called in logs and details: the service's error code, or
    the botocore exception's class. Never its message, which may quote the request."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__
