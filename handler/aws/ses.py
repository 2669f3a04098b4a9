"""Raw mails sent through SES v1's SendRawEmail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.outbound.errors import OutboundError
from handler.reasons import Reason

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

# SES answers these for a message it will never send, whatever the retry.
_PERMANENT = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException"})


class SesMailer:
    """Sends one raw mail at a time (handler.outbound.outbox.Mailer)."""

    def __init__(self, client: SESClient) -> None:
        self._client = client

    def send(self, source: str, to: str, raw: bytes) -> str:
        """SES's message id. Raises OutboundError: ``ses-rejected`` for a mail SES will never
        send, ``ses-unavailable`` (transient) for any other failure."""
        try:
            answer = self._client.send_raw_email(
                Source=source, Destinations=[to], RawMessage={"Data": raw}
            )
        except (ClientError, BotoCoreError) as error:
            # The code only: a botocore message may quote the request (the address).
            code = error_code(error)
            if code in _PERMANENT:
                raise OutboundError(Reason.SES_REJECTED, f"SES refused the mail ({code})") from None
            raise OutboundError(Reason.SES_UNAVAILABLE, f"SES failed ({code})") from None
        return str(answer.get("MessageId", ""))
