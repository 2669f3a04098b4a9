"""Raw mails that SES stored in S3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import StoreError
from handler.reasons import Reason

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# SES accepts mails up to 40 MB; anything larger in the bucket was not written by SES.
MAX_MAIL_BYTES = 40 * 1024 * 1024 + 1024 * 1024


class MailStore:
    """Reads raw mails that SES stored in S3."""

    def __init__(self, s3_client: S3Client) -> None:
        self._s3 = s3_client

    def fetch(self, bucket: str, key: str) -> bytes:
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
            size = int(response.get("ContentLength", 0))
            if size > MAX_MAIL_BYTES:
                raise StoreError(
                    Reason.MAIL_TOO_LARGE,
                    f"s3://{bucket}/{key} is {size} bytes, larger than SES ever stores",
                )
            body: bytes = response["Body"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NoSuchBucket"}:
                # Transient: S3 reads its writes, so a missing mail was deleted or is looked for
                # in the wrong place (MAIL_BUCKET, MAIL_PREFIX), which a fix cures; retried,
                # then dead-lettered with an alarm rather than dropped.
                raise StoreError(
                    Reason.MAIL_NOT_FOUND, f"s3://{bucket}/{key} does not exist ({code})"
                ) from None
            # AccessDenied is a deployment mistake that a fixed policy and a replay will cure.
            raise StoreError(
                Reason.MAIL_UNREADABLE, f"s3://{bucket}/{key} could not be read ({code})"
            ) from None
        except BotoCoreError as error:
            raise StoreError(
                Reason.MAIL_UNREADABLE,
                f"s3://{bucket}/{key} could not be read ({type(error).__name__})",
            ) from None
        return body
