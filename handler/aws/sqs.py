"""SQS: the work queue (the webhook function sends, the outbox function reads), and the
visibility of a failed mail-queue message (when the inbound function sees it again)."""

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


class SqsVisibility:
    """handler.service.inbound.Visibility on the queue an SQS record came from."""

    def __init__(self, client: SQSClient) -> None:
        self._client = client

    def hide(self, queue_arn: str, receipt_handle: str, seconds: int) -> str | None:
        try:
            url = queue_url(queue_arn, self._client.meta.endpoint_url)
            self._client.change_message_visibility(
                QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except ValueError as error:
            return str(error)
        except (ClientError, BotoCoreError) as error:
            return error_code(error)
        return None


def queue_url(arn: str, endpoint: str) -> str:
    """The URL of the queue ``arn`` (``arn:aws:sqs:<region>:<account>:<name>``) names, on the
    SQS ``endpoint`` (the client's, in the function's region: an event source mapping reads a
    queue of its own region). Raises ValueError for anything else."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise ValueError(f"{arn!r} is not an SQS queue's ARN")
    account, name = parts[4], parts[5]
    return f"{endpoint.rstrip('/')}/{account}/{name}"
