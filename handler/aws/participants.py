"""Participants and suppressed addresses in the claims table (key ``id``, TTL ``expiration``).

An issue's participants are one item (``participants#<repo>#<issue>``), one attribute each, so
that adding or removing one is a single UpdateItem that cannot lose a concurrent writer's change,
and reading all of them is one GetItem. A suppressed address is one item of its own
(``suppressed#<digest>``) that does not expire."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.outbound.participants import Participant, ParticipantStoreError, address_digest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from handler.outbound.feedback import FeedbackKind

# Two years after the last mail to the issue: a conversation that pauses for months still reaches
# its people.
PARTICIPANT_TTL_SECONDS = 730 * 86400
_PARTICIPANTS_PREFIX = "participants"
_SUPPRESSED_PREFIX = "suppressed"
# One attribute per participant: "p_" and the address's digest; "u_" and the digest holds when
# they last unsubscribed.
_ATTRIBUTE_PREFIX = "p_"
_LEFT_PREFIX = "u_"
# What is kept of a subject: enough for "Re: <subject>" to thread in the participant's client.
_SUBJECT_LIMIT = 200


def _issue_key(repo: str, issue: int) -> str:
    return f"{_PARTICIPANTS_PREFIX}#{repo.lower()}#{issue}"


class DynamoParticipants:
    """An issue's participants as one item of the claims table."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        expires_after_seconds: int = PARTICIPANT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = expires_after_seconds
        self._clock = clock

    def add(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        """Adds or refreshes ``participant`` from their mail received at ``at`` (epoch seconds):
        the mail our mails answer. False, and nothing changed, for a mail older than what is
        known: older than their latest mail, or than their unsubscribing (a redelivered or
        replayed mail must not subscribe again someone who left since)."""
        # A Date from the future (a wrong clock) must not freeze the participant's latest mail.
        now = int(self._clock())
        when = min(int(at), now)
        digest = address_digest(participant.address)
        value: dict[str, Any] = {
            "a": {"S": participant.address},
            "d": {"S": participant.domain},
            "x": {"S": participant.prefix},
            "s": {"S": participant.subject[:_SUBJECT_LIMIT]},
            "t": {"N": str(when)},
        }
        if participant.last_message_id:
            value["m"] = {"S": participant.last_message_id}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": _issue_key(repo, issue)}},
                # Once they are back, their latest mail orders what comes: the mark of leaving
                # has done its work.
                UpdateExpression="SET #p = :p, expiration = :e REMOVE #u",
                ConditionExpression=(
                    "(attribute_not_exists(#u) OR #u <= :t) "
                    "AND (attribute_not_exists(#p) OR #p.t <= :t)"
                ),
                ExpressionAttributeNames={
                    "#p": _ATTRIBUTE_PREFIX + digest,
                    "#u": _LEFT_PREFIX + digest,
                },
                ExpressionAttributeValues={
                    ":p": {"M": value},
                    ":t": {"N": str(when)},
                    ":e": {"N": str(now + self._ttl)},
                },
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            # An item holds at most 400 KB: some 600 participants. Past that, retrying cannot help.
            transient = error_code(error) != "ValidationException"
            raise ParticipantStoreError(
                f"cannot record the participant ({error_code(error)})", transient=transient
            ) from None
        except BotoCoreError as error:
            raise ParticipantStoreError(
                f"cannot record the participant ({error_code(error)})"
            ) from None
        return True

    def of(self, repo: str, issue: int) -> tuple[Participant, ...]:
        """The issue's participants, the one whose latest mail is the oldest first."""
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key={"id": {"S": _issue_key(repo, issue)}},
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise ParticipantStoreError(
                f"cannot read the participants ({error_code(error)})"
            ) from None
        found = []
        for name, value in (item or {}).items():
            if name.startswith(_ATTRIBUTE_PREFIX) and "M" in value:
                read = _participant(value["M"])
                if read is not None:
                    found.append(read)
        return tuple(participant for _, participant in sorted(found, key=lambda pair: pair[0]))

    def remove(self, repo: str, issue: int, digest: str, at: float) -> bool:
        """Takes the participant off as of ``at`` (epoch seconds: when the unsubscribe mail was
        received, or now for a link), and marks when, so that none of their mails received
        before can add them again. False when nobody with that digest was a participant, or
        they wrote again after ``at`` (a retried or replayed unsubscribe)."""
        when = min(int(at), int(self._clock()))
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": _issue_key(repo, issue)}},
                UpdateExpression="REMOVE #p SET #u = :at",
                # Only a participant leaves a mark: a stranger's unsubscribe writes nothing, so
                # that no one can fill an issue's item with marks.
                ConditionExpression="attribute_exists(#p) AND #p.t <= :at",
                ExpressionAttributeNames={
                    "#p": _ATTRIBUTE_PREFIX + digest,
                    "#u": _LEFT_PREFIX + digest,
                },
                ExpressionAttributeValues={":at": {"N": str(when)}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise ParticipantStoreError(
                f"cannot remove the participant ({error_code(error)})"
            ) from None
        except BotoCoreError as error:
            raise ParticipantStoreError(
                f"cannot remove the participant ({error_code(error)})"
            ) from None
        return True


def _participant(value: Mapping[str, Any]) -> tuple[int, Participant] | None:
    try:
        address = value["a"]["S"]
        added = int(value.get("t", {}).get("N", "0"))
        return added, Participant(
            address=address,
            domain=value["d"]["S"],
            prefix=value.get("x", {}).get("S", ""),
            last_message_id=value.get("m", {}).get("S"),
            subject=value.get("s", {}).get("S", ""),
        )
    except (KeyError, TypeError, ValueError):
        # Written by a later version with another shape: skipped, not fatal to the others.
        return None


class DynamoSuppressions:
    """Suppressed addresses, one item each (key ``suppressed#<digest>``), kept for good."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def suppress(self, address: str, kind: FeedbackKind) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": _suppressed_key(address)},
                    # The stored items name the kind "reason": they keep their shape.
                    "reason": {"S": kind},
                    "at": {"N": str(int(self._clock()))},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise ParticipantStoreError(
                f"cannot record the suppression ({error_code(error)})"
            ) from None

    def suppressed(self, addresses: Sequence[str]) -> set[str]:
        """The lowercased ``addresses`` that must not be mailed. One GetItem each: an issue has
        few participants, and BatchGetItem would need another permission for no gain."""
        found = set()
        for address in dict.fromkeys(address.lower() for address in addresses):
            try:
                item = self._client.get_item(
                    TableName=self._table, Key={"id": {"S": _suppressed_key(address)}}
                ).get("Item")
            except (ClientError, BotoCoreError) as error:
                raise ParticipantStoreError(
                    f"cannot read the suppressions ({error_code(error)})"
                ) from None
            if item:
                found.add(address)
        return found


def _suppressed_key(address: str) -> str:
    return f"{_SUPPRESSED_PREFIX}#{address_digest(address)}"
