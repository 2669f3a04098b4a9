"""The mail queue (SQS), as the inbound function sees it: how long a failed message waits.

Apart from handler/aws/sqs.py so that only the inbound function's code, and role, changes a
message's visibility.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


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
    """The URL of the queue ``arn`` (``arn:<partition>:sqs:<region>:<account>:<name>``) names,
    on the SQS ``endpoint`` (the client's, in the function's region: an event source mapping
    reads a queue of its own region). Raises ValueError for anything else."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise ValueError(f"{arn!r} is not an SQS queue's ARN")
    account, name = parts[4], parts[5]
    return f"{endpoint.rstrip('/')}/{account}/{name}"
