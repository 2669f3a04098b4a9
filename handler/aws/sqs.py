"""The work queue, in SQS: the webhook function sends, the outbox function reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.outbound.errors import OutboundError
from handler.reasons import Reason

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsQueue:
    """handler.outbound.webhook.Queue on an SQS queue."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self._client = client
        self._url = url

    def send(self, body: str) -> None:
        try:
            self._client.send_message(QueueUrl=self._url, MessageBody=body)
        except (ClientError, BotoCoreError) as error:
            detail = f"cannot queue the work item ({error_code(error)})"
            raise OutboundError(Reason.QUEUE_UNAVAILABLE, detail) from None
