"""A dead-letter queue, as the replay reads it: the SQS queue failed invocations end up in, or
the mail queue's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.service.replay import BATCH, QueueError, QueueMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsFailureQueue:
    """handler.service.replay.FailureQueue on an SQS queue."""

    def __init__(
        self,
        sqs_client: SQSClient,
        url: str,
        *,
        visibility_timeout: int = 900,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs_client
        self._url = url
        # Long enough for a batch to be replayed before its messages show again, so that one run
        # reads each message once and stops when the rest of the queue is empty.
        self._visibility = visibility_timeout
        # Long polling asks every SQS server: an empty answer means an empty queue.
        self._wait = wait_seconds

    def receive(self, limit: int) -> list[QueueMessage]:
        try:
            response = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=max(1, min(BATCH, limit)),
                VisibilityTimeout=self._visibility,
                WaitTimeSeconds=self._wait,
            )
        except (ClientError, BotoCoreError) as error:
            raise QueueError(f"cannot read {self._url}: {_describe(error)}") from None
        return [
            QueueMessage(str(m["MessageId"]), str(m["ReceiptHandle"]), str(m.get("Body", "")))
            for m in response.get("Messages", [])
        ]

    def delete(self, message: QueueMessage) -> str | None:
        """Delete ``message``; the reason it could not be, or None."""
        try:
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message.receipt_handle)
        except (ClientError, BotoCoreError) as error:
            return _describe(error)
        return None

    def release(self, message: QueueMessage) -> None:
        """Make a kept message visible again at once, for the next run."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
            )
        except (ClientError, BotoCoreError):
            # Harmless: the message shows again when its visibility timeout ends.
            return


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__
