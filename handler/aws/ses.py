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
    from mypy_boto3_ses.type_defs import SendRawEmailRequestTypeDef

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


def raw_email(
    source: str, to: str, raw: bytes, configuration_set: str = ""
) -> SendRawEmailRequestTypeDef:
    """SendRawEmail's request for one recipient, through ``configuration_set`` unless it is "":
    SES publishes the bounces and complaints of a mail sent through the set to the set's event
    destination (Terraform's feedback topic), and of no other mail."""
    request: SendRawEmailRequestTypeDef = {
        "Source": source,
        "Destinations": [to],
        "RawMessage": {"Data": raw},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return request


class SesMailer:
    """Sends one raw mail at a time (handler.outbound.outbox.Mailer), through a client made
    with ``CLIENT_CONFIG`` and the configuration set ``configuration_set`` ("" for none)."""

    def __init__(self, client: SESClient, configuration_set: str = "") -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send(self, source: str, to: str, raw: bytes) -> str:
        """SES's message id. Raises OutboundError: ``ses-rejected`` for a mail SES will never
        send, ``ses-unavailable`` (transient) when nothing was sent; MailOutcomeUnknown when the
        request left but its answer did not come."""
        try:
            answer = self._client.send_raw_email(
                **raw_email(source, to, raw, self._configuration_set)
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
