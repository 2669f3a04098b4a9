"""Exactly one comment per (mail, issue), and one new issue per (mail, repository), however often
a mail is delivered, retried or replayed.

Two guards, because neither alone covers every failure:

1. A claim in DynamoDB, through Lambda Powertools' idempotency utility: the first invocation to
   claim ``<repo>#<issue>#<mail>`` (``<repo>#new#<mail>`` for a new issue) posts; a concurrent
   one finds the claim in progress and fails so that Lambda retries it later; a later one finds
   it completed and reports the comment (or issue) that exists. A claim whose holder crashed
   expires with that invocation's remaining time, so the retry takes it over instead of the mail
   being lost. A failure releases the claim.
2. A marker in the comment or issue body (an HTML comment GitHub does not display) naming the
   mail. Before posting a mail that is not fresh (a retry, a replay) or re-posting after a
   timed-out attempt, the GitHub client looks for the marker on the issue (or among the
   repository's recent issues), so that what GitHub created while we lost the answer is found
   rather than posted again.

The mail's identity is its Message-ID and From address, so the same mail stored twice under two
keys is one mail; a mail without a Message-ID is identified by its own bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from handler.github.posts import PostedComment
from handler.inbound.authenticity import SES_FIELDS
from handler.inbound.mail import Message

_KEY_PREFIX = "ticket-router"
# How long a claim is remembered when IDEMPOTENCY_TTL_SECONDS is unset: longer than the mail
# bucket keeps a mail (90 days by default), so any replay is recognised.
DEFAULT_CLAIM_TTL = 91 * 86400
_OUTSIDE_LAMBDA_SECONDS = 900.0


@dataclass(frozen=True)
class Claimed:
    comment: PostedComment
    # False when the comment was posted earlier (a redelivery or a replay).
    fresh: bool


class ClaimInProgress(Exception):
    """Another invocation holds the claim right now; trying again later resolves it."""


class ClaimStoreError(Exception):
    """The claim store cannot be reached; nothing was posted."""


class Claims(Protocol):
    def once(self, key: str, post: Callable[[], PostedComment]) -> Claimed: ...


def mail_key(message: Message, raw: bytes) -> str:
    """The mail's identity: Message-ID and From, or, without a Message-ID, the mail's bytes."""
    sender = message.from_[0].addr.lower() if message.from_ else ""
    if message.message_id:
        identity = f"{message.message_id}\n{sender}".encode()
    else:
        # The sender's part only: SES's block differs between two stored copies.
        identity = raw[_ses_block_length(message, raw) :]
    return hashlib.sha256(identity).hexdigest()[:32]


def claim_key(repo: str, issue: int, mail: str) -> str:
    return f"{repo.lower()}#{issue}#{mail}"


def open_key(repo: str, mail: str) -> str:
    """The claim of the issue ``mail`` opens in ``repo``: one issue per mail and repository."""
    return f"{repo.lower()}#new#{mail}"


class NoClaims:
    """No claim store (the CLI without --table): every accepted decision is posted."""

    def once(self, key: str, post: Callable[[], PostedComment]) -> Claimed:
        return Claimed(post(), fresh=True)


class _Context:
    """What Powertools reads from a Lambda context: the time left, for in-progress expiry."""

    def __init__(self, remaining_time: Callable[[], float]) -> None:
        self._remaining_time = remaining_time

    def get_remaining_time_in_millis(self) -> int:
        return int(self._remaining_time() * 1000)


class DynamoClaims:
    """Claims in a DynamoDB table (key ``id``, TTL ``expiration``), via Powertools."""

    def __init__(
        self,
        table_name: str,
        client: Any,  # noqa: ANN401 - an untyped boto3 DynamoDB client
        *,
        expires_after_seconds: int,
        remaining_time: Callable[[], float] | None = None,
    ) -> None:
        # Imported here: only the Lambda path with a table pays for Powertools.
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
        )

        self._store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        # Outside Lambda (a CLI replay) a crashed holder's claim lapses after Lambda's maximum
        # run time, as if it had been an invocation.
        context = _Context(remaining_time or (lambda: _OUTSIDE_LAMBDA_SECONDS))
        # Powertools reads only get_remaining_time_in_millis from the context.
        self._config.register_lambda_context(context)  # type: ignore[arg-type]

    def once(self, key: str, post: Callable[[], PostedComment]) -> Claimed:
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            BaseError,
            IdempotencyAlreadyInProgressError,
        )

        ran: list[PostedComment] = []

        # Powertools types its decorator loosely; the wrapped function keeps this signature.
        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="claim",
            persistence_store=self._store,
            config=self._config,
            # Not the Lambda function's name: replays from the CLI must see the same claims.
            key_prefix=_KEY_PREFIX,
        )
        def claimed_post(claim: dict[str, str]) -> dict[str, Any]:
            comment = post()
            ran.append(comment)
            return {"id": comment.id, "url": comment.url}

        try:
            result = claimed_post(claim={"key": key})
        except IdempotencyAlreadyInProgressError:
            raise ClaimInProgress(f"{key} is being posted by another invocation") from None
        except BaseError as error:
            raise ClaimStoreError(f"the claim store failed ({type(error).__name__})") from None
        if ran:
            return Claimed(ran[0], fresh=True)
        return Claimed(PostedComment(id=int(result["id"]), url=str(result["url"])), fresh=False)


def _ses_block_length(message: Message, raw: bytes) -> int:
    """Where the sender's own header starts: after SES's block of prepended fields."""
    first_own = next((name for name, _ in message.headers if name.lower() not in SES_FIELDS), None)
    if first_own is None:
        return 0
    found = re.search(rb"(?m)^" + re.escape(first_own.encode()) + rb":", raw)
    return found.start() if found else 0
