"""The attachments bucket (terraform/modules/attachments): handler.attachments.stores.BucketFiles
on S3, served through CloudFront. Objects are written once, never overwritten: a key names its
content (handler/attachments/layout.py), so an object that exists is the file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from handler.aws.store import error_code
from handler.reasons import Reason, TicketRouterError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef, PutObjectRequestTypeDef

# The tag a lifecycle rule of the bucket expires objects by, one rule per number of days.
RETENTION_TAG = "retention-days"
# Types served as themselves: none of them is run or rendered as a page by a browser. Any
# other type (an HTML page, an SVG, a type a browser might sniff into one) is served as bytes to
# download. Text is declared UTF-8 so that no browser guesses a charset (UTF-7 scripts).
SERVED_TYPES = {
    "application/pdf": "application/pdf",
    "text/plain": "text/plain; charset=utf-8",
    "text/csv": "text/csv; charset=utf-8",
    "application/json": "application/json",
    "application/zip": "application/zip",
    "application/gzip": "application/gzip",
}
DOWNLOAD_TYPE = "application/octet-stream"
# DeleteObjects takes at most 1000 keys a request.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
DELETE_BATCH = 1000
# Failures a retry may cure: S3 asking to slow down, its own errors, and a conditional write
# racing another one on the same key (409). Anything else (AccessDenied, NoSuchBucket) needs a
# fix to the deployment.
# https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "ServiceUnavailable",
        "InternalError",
        "ConditionalRequestConflict",
        "OperationAborted",
    }
)
# RFC 5987's attr-chars besides letters and digits: what filename* leaves unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


class S3Files:
    """Objects of the attachments bucket ``bucket``: written unless present, listed, deleted."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def store(
        self,
        key: str,
        content: bytes,
        *,
        content_type: str,
        filename: str,
        inline: bool,
        retention_days: int | None,
    ) -> bool:
        """Write the object unless ``key`` exists; True when written by this call."""
        if self._exists(key):
            return False
        # If-None-Match: two deliveries of one mail racing each other write the key once.
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
        request: PutObjectRequestTypeDef = {
            "Bucket": self._bucket,
            "Key": key,
            "Body": content,
            "ContentType": served_type(content_type, inline=inline),
            "ContentDisposition": disposition(filename, inline=inline),
            "IfNoneMatch": "*",
        }
        if retention_days is not None:
            request["Tagging"] = f"{RETENTION_TAG}={retention_days}"
        try:
            self._s3.put_object(**request)
        except ClientError as error:
            if error_code(error) == "PreconditionFailed":
                return False
            raise _failure(error, "the attachments bucket did not store the file") from None
        except BotoCoreError as error:
            raise _failure(error, "the attachments bucket did not store the file") from None
        return True

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``."""
        found: list[str] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            ):
                found.extend(item["Key"] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as error:
            raise _failure(error, f"could not list the attachments bucket under {prefix}") from None
        return found

    def delete(self, keys: Sequence[str]) -> None:
        """Delete ``keys``, every version of each (those already gone are skipped)."""
        versions = self._versions(keys)
        for start in range(0, len(versions), DELETE_BATCH):
            batch = versions[start : start + DELETE_BATCH]
            try:
                response = self._s3.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except (ClientError, BotoCoreError) as error:
                raise _failure(error, "could not delete from the attachments bucket") from None
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise TicketRouterError(
                    Reason.ATTACHMENT_STORE_UNAVAILABLE,
                    f"the attachments bucket did not delete {len(errors)} of {len(batch)}"
                    f" objects, {first.get('Key', '')} first ({first.get('Code', '')})",
                    transient=first.get("Code", "") in _TRANSIENT_CODES,
                )

    def _exists(self, key: str) -> bool:
        """A HEAD of ``key``. Without s3:ListBucket, which the function is not granted, S3 says
        403 rather than 404 for a key that does not exist: either is "absent" here, and the write
        that follows is refused if access is truly denied."""
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
                return False
            raise _failure(error, "the attachments bucket could not be read") from None
        except BotoCoreError as error:
            raise _failure(error, "the attachments bucket could not be read") from None
        return True

    def _versions(self, keys: Sequence[str]) -> list[ObjectIdentifierTypeDef]:
        """Every version (and delete marker) of ``keys``, listed once per top-level folder (a
        mail's) rather than once per key."""
        wanted = set(keys)
        folders: defaultdict[str, set[str]] = defaultdict(set)
        for key in wanted:
            head, slash, _ = key.partition("/")
            folders[head + slash if slash else key].add(key)
        found: list[ObjectIdentifierTypeDef] = []
        paginator = self._s3.get_paginator("list_object_versions")
        try:
            for prefix in sorted(folders):
                for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                    for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                        if entry["Key"] in wanted:
                            found.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
        except (ClientError, BotoCoreError) as error:
            raise _failure(error, "could not list the versions in the attachments bucket") from None
        return found


def served_type(content_type: str, *, inline: bool) -> str:
    """The Content-Type a file is served with: an image shown inline as its (sniffed) type, a
    type no browser runs as itself, anything else as bytes to download."""
    if inline:
        return content_type
    return SERVED_TYPES.get(content_type, DOWNLOAD_TYPE)


def disposition(filename: str, *, inline: bool) -> str:
    """Content-Disposition: images shown, every other file downloaded, under its name
    (RFC 6266: an ASCII ``filename`` for old clients, the UTF-8 name in ``filename*``)."""
    fallback = "".join(
        char if " " <= char <= "~" and char not in '"\\%' else "_" for char in filename
    )
    encoded = quote(filename, safe=_ATTR_CHARS)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _failure(error: Exception, what: str) -> TicketRouterError:
    """attachment-store-unavailable, transient when S3 throttled, failed itself or was not
    reached; the detail names the error's code only (a message may quote the request)."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        transient = status >= 500 or error_code(error) in _TRANSIENT_CODES
    else:
        # Not reached, or timed out; a request botocore refused to send is a bug, not weather.
        transient = not isinstance(error, ParamValidationError)
    return TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, f"{what} ({error_code(error)})", transient=transient
    )
