"""Raw mail from S3, and the error every AWS edge raises (StoreError). Clients are passed in,
so the Lambda builds them once per container and tests hand in moto's; the secrets are in
handler.aws.secrets."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# SES accepts mails up to 40 MB; anything larger in the bucket was not written by SES.
MAX_MAIL_BYTES = 40 * 1024 * 1024 + 1024 * 1024


class StoreError(Exception):
    """A mail or secret that cannot be read; ``transient`` when a retry may succeed."""

    def __init__(self, reason: str, detail: str, *, transient: bool) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.transient = transient


class MailStore:
    """Reads raw mails that SES stored in S3."""

    # boto3 clients carry no type information (no stubs are published for the pinned release).
    def __init__(self, s3_client: Any) -> None:  # noqa: ANN401
        self._s3 = s3_client

    def fetch(self, bucket: str, key: str) -> bytes:
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
            size = int(response.get("ContentLength", 0))
            if size > MAX_MAIL_BYTES:
                raise StoreError(
                    "mail-too-large",
                    f"s3://{bucket}/{key} is {size} bytes, larger than SES ever stores",
                    transient=False,
                )
            body: bytes = response["Body"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NoSuchBucket"}:
                raise StoreError(
                    "mail-not-found",
                    f"s3://{bucket}/{key} does not exist ({code})",
                    transient=False,
                ) from None
            # AccessDenied is a deployment mistake that a fixed policy and a replay will cure.
            raise StoreError(
                "mail-unreadable", f"s3://{bucket}/{key} could not be read ({code})", transient=True
            ) from None
        except BotoCoreError as error:
            raise StoreError(
                "mail-unreadable",
                f"s3://{bucket}/{key} could not be read ({type(error).__name__})",
                transient=True,
            ) from None
        return body


def error_code(error: Exception) -> str:
    """What an AWS call's failure is called in logs and details: the service's error code, or
    the botocore exception's class. Never its message, which may quote the request."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__
