"""Raw mails sent through SES v1's SendRawEmail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError

from handler.aws.store import error_code
from handler.outbound.errors import MailOutcomeUnknown, OutboundError
from handler.reasons import Reason

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

# SES answers these for a message it will never send, whatever the retry.
_PERMANENT = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException"})

# SendRawEmail is not idempotent: botocore's own retries would send a mail again after a read
# timeout or a dropped connection, so the client makes one attempt and the queue retries what
# SES answered (throttling). The read timeout is generous: each one is an update that may be
# lost (MailOutcomeUnknown).
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    retries={"mode": "standard", "total_max_attempts": 1},
)


class SesMailer:
    """Sends one raw mail at a time (handler.outbound.outbox.Mailer), through a client made
    with ``CLIENT_CONFIG``."""

    def __init__(self, client: SESClient) -> None:
        self._client = client

    def send(self, source: str, to: str, raw: bytes) -> str:
        """SES's message id. Raises OutboundError: ``ses-rejected`` for a mail SES will never
        send, ``ses-unavailable`` (transient) when nothing was sent; MailOutcomeUnknown when the
        request left but its answer did not come."""
        try:
            answer = self._client.send_raw_email(
                Source=source, Destinations=[to], RawMessage={"Data": raw}
            )
        # The code only: a botocore message may quote the request (the address).
        except ClientError as error:
            code = error_code(error)
            if code in _PERMANENT:
                raise OutboundError(Reason.SES_REJECTED, f"SES refused the mail ({code})") from None
            raise OutboundError(Reason.SES_UNAVAILABLE, f"SES failed ({code})") from None
        except HTTPClientError as error:
            # A read timeout, a connection closed before the answer (or anything else the HTTP
            # client raised once connected): SES may have taken the mail.
            raise MailOutcomeUnknown(f"SES's answer was lost ({error_code(error)})") from None
        except BotoCoreError as error:
            # Before the request left: no connection (EndpointConnectionError,
            # ConnectTimeoutError, SSLError), no credentials, a parameter refused.
            raise OutboundError(
                Reason.SES_UNAVAILABLE, f"SES could not be asked ({error_code(error)})"
            ) from None
        return str(answer.get("MessageId", ""))
