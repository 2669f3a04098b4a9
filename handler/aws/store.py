"""The error every AWS edge raises (StoreError), and how an AWS failure is named in it. Clients
are passed in, so the Lambda builds them once per container and tests hand in moto's."""

from __future__ import annotations

from botocore.exceptions import ClientError

from handler.reasons import Reason, TicketRouterError


class StoreError(TicketRouterError):
    """A mail or secret that cannot be read; ``transient`` when a retry may succeed."""

    # A code as a str only until handler.github.credentials and the secret sources pass members:
    # it is looked up here, once, so that ``reason`` is always a member.
    def __init__(self, reason: Reason | str, detail: str, *, transient: bool | None = None) -> None:
        super().__init__(Reason(reason), detail, transient=transient)


def error_code(error: Exception) -> str:
    """What an AWS call's failure is called in logs and details: the service's error code, or
    the botocore exception's class. Never its message, which may quote the request."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__
