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
from handler.outbound.participants import (
    Authorship,
    Conversation,
    Departure,
    Participant,
    ParticipantStoreError,
    address_digest,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from handler.outbound.feedback import FeedbackKind

# Two years after the last mail to the issue: a conversation that pauses for months still reaches
# its people.
PARTICIPANT_TTL_SECONDS = 730 * 86400
_PARTICIPANTS_PREFIX = "participants"
_SUPPRESSED_PREFIX = "suppressed"
_AUTHORED_PREFIX = "authored"
# Who sent a posted mail is asked when GitHub's webhook tells of its comment: within seconds, or
# after GitHub's redeliveries and the work queue's retries (72 hours at most, stale-event).
AUTHORSHIP_TTL_SECONDS = 30 * 86400
# The thread's root: the Message-ID of the first mail recorded for the issue.
_ROOT = "root"
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
        return self._put(repo, issue, participant, at, copied=False)

    def add_copied(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        """Adds ``participant``, copied on a mail received at ``at``, unless they are a
        participant already (their own mails thread their updates) or ever left the issue:
        nobody is subscribed again by someone else."""
        return self._put(repo, issue, participant, at, copied=True)

    def _put(
        self, repo: str, issue: int, participant: Participant, at: float, *, copied: bool
    ) -> bool:
        """Writes ``participant`` as of ``at``, and the thread's root when the issue has none
        yet; False when ``add`` or ``add_copied`` says nothing changes."""
        # A Date from the future (a wrong clock) must not freeze the participant's latest mail.
        when = min(int(at), int(self._clock()))
        digest = address_digest(participant.address)
        names = {"#p": _ATTRIBUTE_PREFIX + digest, "#u": _LEFT_PREFIX + digest}
        values: dict[str, Any] = {":e": {"N": str(int(self._clock()) + self._ttl)}}
        if copied:
            condition, update = "attribute_not_exists(#p) AND attribute_not_exists(#u)", ""
        else:
            condition = (
                "(attribute_not_exists(#u) OR #u <= :t) "
                "AND (attribute_not_exists(#p) OR #p.t <= :t)"
            )
            values[":t"] = {"N": str(when)}
            # Once they are back, their latest mail orders what comes: the mark of leaving has
            # done its work.
            update = " REMOVE #u"
        value: dict[str, Any] = {
            "a": {"S": participant.address},
            "d": {"S": participant.domain},
            "x": {"S": participant.prefix},
            "s": {"S": participant.subject[:_SUBJECT_LIMIT]},
            "t": {"N": str(when)},
        }
        values[":p"] = {"M": value}
        setting = "SET #p = :p, expiration = :e"
        if participant.copied_by:
            value["c"] = {"S": participant.copied_by[:_SUBJECT_LIMIT]}
        if participant.last_message_id:
            value["m"] = {"S": participant.last_message_id}
            # The first mail recorded roots every update's References.
            setting += ", #r = if_not_exists(#r, :m)"
            names["#r"] = _ROOT
            values[":m"] = {"S": participant.last_message_id}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": _issue_key(repo, issue)}},
                UpdateExpression=setting + update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
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

    def of(self, repo: str, issue: int) -> Conversation:
        """The issue's participants (the one whose latest mail is the oldest first), its
        thread's root and who left."""
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
        left = []
        for name, value in (item or {}).items():
            if name.startswith(_ATTRIBUTE_PREFIX) and "M" in value:
                read = _participant(value["M"])
                if read is not None:
                    found.append(read)
            elif name.startswith(_LEFT_PREFIX) and "N" in value:
                left.append(Departure(name.removeprefix(_LEFT_PREFIX), float(value["N"])))
        root = (item or {}).get(_ROOT, {}).get("S")
        return Conversation(
            participants=tuple(p for _, p in sorted(found, key=lambda pair: pair[0])),
            root=root if isinstance(root, str) else None,
            left=tuple(sorted(left, key=lambda departure: departure.at)),
        )

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

    def introduced(self, repo: str, issue: int, digest: str) -> None:
        """Clears ``copied_by``: their first update mail said why they get it. Nothing changes
        for one who left meanwhile."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": _issue_key(repo, issue)}},
                UpdateExpression="REMOVE #p.c",
                ConditionExpression="attribute_exists(#p)",
                ExpressionAttributeNames={"#p": _ATTRIBUTE_PREFIX + digest},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return
            raise ParticipantStoreError(
                f"cannot mark the participant as told ({error_code(error)})"
            ) from None
        except BotoCoreError as error:
            raise ParticipantStoreError(
                f"cannot mark the participant as told ({error_code(error)})"
            ) from None


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
            copied_by=value.get("c", {}).get("S", ""),
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


class DynamoAuthors:
    """Who each posted mail came from, one item per mail key (``authored#<mail key>``), kept
    for AUTHORSHIP_TTL_SECONDS."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        expires_after_seconds: int = AUTHORSHIP_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = expires_after_seconds
        self._clock = clock

    def record(self, mail: str, authorship: Authorship) -> None:
        """Keeps ``authorship`` under ``mail``; a mail delivered again writes the same."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": f"{_AUTHORED_PREFIX}#{mail}"},
                    "sender": {"S": authorship.sender},
                    "name": {"S": authorship.name},
                    "reached": {"L": [{"S": digest} for digest in authorship.reached]},
                    "expiration": {"N": str(int(self._clock()) + self._ttl)},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise ParticipantStoreError(
                f"cannot record who sent the mail ({error_code(error)})"
            ) from None

    def of(self, mail: str) -> Authorship | None:
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key={"id": {"S": f"{_AUTHORED_PREFIX}#{mail}"}},
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise ParticipantStoreError(
                f"cannot read who sent the mail ({error_code(error)})"
            ) from None
        if not item:
            return None
        try:
            return Authorship(
                sender=item["sender"]["S"],
                name=item["name"]["S"],
                reached=tuple(entry["S"] for entry in item.get("reached", {}).get("L", [])),
            )
        except (KeyError, TypeError):
            # Written by a later version with another shape: read as unknown.
            return None
