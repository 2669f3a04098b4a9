"""Every stable reason code: why a mail, a webhook request or an update mail went as it did.

A ``Reason`` is its code (a ``str``: logs, JSON and metrics carry it as it is), its meaning and
whether it is transient (trying again later may succeed). The groups below are the sections of
docs/reasons.md, which scripts/reasons_doc.py writes from this module. Every failure with a
reason is a TicketRouterError; RetryLater makes Lambda or SQS try again.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    _value_: str
    meaning: str
    transient: bool

    # The defaults only let ``Reason(code)``, a lookup by code, type-check: every member gives
    # all three (tests/test_reasons.py).
    def __new__(cls, code: str, meaning: str = "", transient: bool = False) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        member.transient = transient
        return member

    # Mail: what became of a mail for one recipient (handler.inbound.plan, Decision).
    ACCEPTED = (
        "accepted",
        "planned: a dry run would post the comment, open the issue or unsubscribe the sender",
        False,
    )
    POSTED = "posted", "the mail was posted as a comment", False
    ALREADY_POSTED = (
        "already-posted",
        "an earlier delivery of this mail (a retry, a replay) posted it to this issue: "
        "not posted again",
        False,
    )
    OPENED = "opened", "a mail to a new-issue address opened an issue", False
    ALREADY_OPENED = (
        "already-opened",
        "an earlier delivery of this mail opened its issue: not opened again",
        False,
    )
    UNSUBSCRIBED = (
        "unsubscribed",
        "the sender (or the holder of a signed link) was taken off the issue's participants",
        False,
    )
    NOT_A_PARTICIPANT = (
        "not-a-participant",
        "a mail to `<prefix><n>+unsubscribe@` from someone not getting mail about the issue",
        False,
    )

    # Addressing: which issue a recipient names (handler.routing, Miss; handler.inbound.plan).
    NO_RECIPIENT = "no-recipient", "the mail names no recipient at all", False
    NO_ROUTE = "no-route", "no route for the recipient's domain", False
    INVALID_ADDRESS = "invalid-address", "the recipient is not a plain mailbox address", False
    INVALID_ISSUE_NUMBER = (
        "invalid-issue-number",
        "the recipient's local part is not `<prefix><issue number>` (nor the new-issue address)",
        False,
    )
    DUPLICATE_RECIPIENT = (
        "duplicate-recipient",
        "another recipient of the same mail already addresses this issue: one comment",
        False,
    )

    # Replay: whether the mail is one its signer wrote to this address, lately
    # (handler.inbound.replay_guard).
    CONFLICTING_HEADERS = (
        "conflicting-headers",
        "a header field that a mail has once (Subject, From, To, Message-ID, Date, "
        "Content-Type...) appears twice with different values: a DKIM signature covers the "
        "last, a reader may show the first",
        False,
    )
    NOT_ADDRESSED = (
        "not-addressed",
        "the mail's To and Cc do not name the address it was delivered to: a signed mail "
        "written to others and re-sent here (only a route's comments may allow Bcc)",
        False,
    )
    MAIL_TOO_OLD = (
        "mail-too-old",
        "the mail's Date lies more than the route's max_age before SES received it",
        False,
    )
    MAIL_FROM_FUTURE = (
        "mail-from-future",
        "the mail's Date lies more than 5 minutes after SES received it",
        False,
    )

    # Sender: who may post (handler.inbound.authenticity, Assessment; handler.inbound.autoreply).
    AUTHENTICATED = (
        "authenticated",
        "SES vouches for the From domain (an assessment that passed; never a decision)",
        False,
    )
    SPAM = "spam", "SES's spam verdict was FAIL", False
    VIRUS = (
        "virus",
        "SES's virus verdict was FAIL, or SES could not scan the mail (GRAY, PROCESSING_FAILED): "
        "nothing is posted unscanned",
        False,
    )
    BOUNCE = (
        "bounce",
        "a bounce or delivery report (empty envelope sender, MAILER-DAEMON, multipart/report)",
        False,
    )
    AUTO_REPLY = (
        "auto-reply",
        "an auto-reply (Auto-Submitted, X-Autoreply and the like), or one of our own mails "
        "come back (its Message-ID is one we write)",
        False,
    )
    BULK_MAIL = "bulk-mail", "bulk mail (Precedence: bulk, junk or list)", False
    LIST_MAIL = "list-mail", "a copy distributed by a mailing list (List-Id)", False
    INVALID_FROM = "invalid-from", "not exactly one From address with a real domain", False
    NOT_AUTHENTICATED = "not-authenticated", "SES could not authenticate the From domain", False
    SENDER_MISMATCH = (
        "sender-mismatch",
        "a Sender header names someone outside the From address's organisation",
        False,
    )
    SENDER_NOT_ALLOWED = (
        "sender-not-allowed",
        "the authenticated domain may not write to this route (an update: may no longer, so it "
        "is not mailed either)",
        False,
    )

    # Content: what is left to post (handler.inbound.plan).
    NOT_A_MAIL = (
        "not-a-mail",
        "the stored object or file is not a mail: empty, binary, or no header fields before "
        "the body",
        False,
    )
    UNPARSEABLE_MAIL = (
        "unparseable-mail",
        "the MIME structure defeats the parser (e.g. thousands of nested parts)",
        False,
    )
    ENCRYPTED_MAIL = (
        "encrypted-mail",
        "the mail is encrypted (PGP or S/MIME): ticket-router holds no key to read it",
        False,
    )
    EMPTY_BODY = (
        "empty-body",
        "the mail has no text, forward, invitation or attachment (and, for a new issue, no "
        "subject); trimming quotes and signature never empties a mail that had text",
        False,
    )

    # Stored mail: what a Lambda event or a mail-queue message names, read from S3
    # (handler.service.events, Skipped; handler.aws.s3, StoreError).
    MAIL_NOT_FOUND = (
        "mail-not-found",
        "the stored mail is not in S3 (NoSuchKey, NoSuchBucket; a wrong MAIL_BUCKET, MAIL_PREFIX, "
        "--bucket or --prefix looks the same): retried, then dead-lettered, and an alarm watches "
        "it; replay keeps its message",
        True,
    )
    MAIL_UNREADABLE = "mail-unreadable", "S3 could not be read (access denied, S3 failing)", True
    MAIL_TOO_LARGE = "mail-too-large", "the stored object is larger than SES ever stores", False
    SES_SETUP_NOTIFICATION = (
        "ses-setup-notification",
        "SES's test object of a new receipt rule, or its notification about it: skipped",
        False,
    )
    NOT_AN_S3_ACTION = (
        "not-an-s3-action",
        "SES's notification of an action other than S3 (or of none): it names no stored mail: "
        "skipped",
        False,
    )
    SNS_CONFIRMATION = (
        "sns-confirmation",
        "SNS's subscription or unsubscription confirmation on the mail queue (SNS confirms a "
        "queue's subscription itself): skipped",
        False,
    )
    S3_TEST_EVENT = (
        "s3-test-event",
        "S3's test message, sent when a bucket's notifications are set up: skipped",
        False,
    )
    UNSUPPORTED_EVENT = (
        "unsupported-event",
        "the event, a mail-queue message or a failure-queue message is not an SES or S3 "
        "notification (nor SNS's envelope of one): a mail-queue message is retried, then "
        "dead-lettered",
        False,
    )

    # Failures: what nobody planned for (handler.service.inbound, Receiver).
    INTERNAL_ERROR = (
        "internal-error",
        "handling the mail raised something unexpected: logged at ERROR with the error id the "
        "detail gives; retried, then dead-lettered (the mail stays in S3 for replay)",
        True,
    )

    # Stores: the claims table and what it holds (handler.service.claims, handler.inbound.threads,
    # handler.outbound.participants).
    IN_PROGRESS = (
        "in-progress",
        "another invocation holds the claim: it is posting this mail, or mailing this update",
        True,
    )
    ATTACHMENT_STORE_UNAVAILABLE = (
        "attachment-store-unavailable",
        "the mail's files could not be stored (GitHub's contents API or the attachments bucket "
        "failed for now): nothing was posted",
        True,
    )
    CLAIM_STORE_UNAVAILABLE = (
        "claim-store-unavailable",
        "the claims table cannot be reached: nothing was posted or mailed",
        True,
    )
    RATE_LIMIT_STORE_UNAVAILABLE = (
        "rate-limit-store-unavailable",
        "the credential's rate limit, shared in the claims table, cannot be read or written: "
        "nothing was posted (a POST made without it could fall in another container's "
        "retry-after window)",
        True,
    )
    THREAD_STORE_UNAVAILABLE = (
        "thread-store-unavailable",
        "the thread map of issues opened by mail cannot be read or written",
        True,
    )
    PARTICIPANT_STORE_UNAVAILABLE = (
        "participant-store-unavailable",
        "the issue's participants, or who sent a mail about to be posted, cannot be read, "
        "recorded or removed (nothing is posted before its sender is recorded; a posted "
        "mail's retry finds it already posted, and records its participants)",
        True,
    )
    SUPPRESSION_STORE_UNAVAILABLE = (
        "suppression-store-unavailable",
        "a bounce or complaint cannot be recorded",
        True,
    )

    # Credentials: secrets read from Secrets Manager (handler.aws.secrets,
    # handler.github.credentials, StoreError).
    TOKEN_UNAVAILABLE = (
        "token-unavailable",
        "the GitHub token cannot be read (secret missing, empty or unreadable; GITHUB_TOKEN unset)",
        True,
    )
    SECRET_UNAVAILABLE = (
        "secret-unavailable",
        "the webhook secret cannot be read (the webhook answers 503; the outbox retries)",
        True,
    )
    GITHUB_APP_KEY_UNAVAILABLE = (
        "github-app-key-unavailable",
        "the GitHub App's private key secret cannot be read",
        True,
    )
    GITHUB_APP_KEY_INVALID = (
        "github-app-key-invalid",
        "the GitHub App's private key secret holds no unencrypted RSA private key",
        True,
    )
    GITHUB_APP_UNSUPPORTED = (
        "github-app-unsupported",
        "the zip was built from a routes file without the App (so without PyJWT and "
        "cryptography): rebuild it, then replay",
        True,
    )

    # GitHub: its answers to a comment, a new issue or an App's token request
    # (handler.github.errors, GitHubError; raised by the client and the credentials).
    ISSUE_NOT_FOUND = (
        "issue-not-found",
        "no such issue (404), and the credential can see the repository",
        False,
    )
    REPO_NOT_VISIBLE = (
        "repo-not-visible",
        "GitHub answered 404 for a comment or a new issue, and the credential cannot see the "
        "repository itself (it lost access, or the route names a wrong repository): retried, "
        "alarmed, never told to the sender as a missing issue",
        True,
    )
    ISSUE_GONE = "issue-gone", "the issue was deleted, or issues are disabled (410)", False
    ISSUE_LOCKED = "issue-locked", "the issue is locked: only collaborators may comment", False
    ISSUES_DISABLED = "issues-disabled", "the repository has issues turned off (410)", False
    GITHUB_FORBIDDEN = (
        "github-forbidden",
        "the credential may not comment or open issues there, or the App may not have a token "
        "(403)",
        False,
    )
    VALIDATION_FAILED = "validation-failed", "GitHub refused the comment or issue (422)", False
    GITHUB_REDIRECT = (
        "github-redirect",
        "GitHub redirected to another host or scheme, or nowhere: the token is not sent on",
        False,
    )
    GITHUB_REJECTED = (
        "github-rejected",
        "any other answer of GitHub's, to a post or to an App's token request",
        False,
    )
    GITHUB_AUTH_FAILED = (
        "github-auth-failed",
        "GitHub refused the token (401: rotated, revoked): it is read again for the retry",
        True,
    )
    GITHUB_APP_AUTH_FAILED = (
        "github-app-auth-failed",
        "GitHub refused the App's JWT (401: wrong key or id): the key is read again for the retry",
        True,
    )
    GITHUB_APP_NOT_INSTALLED = (
        "github-app-not-installed",
        "the route's GitHub App has no such installation (404)",
        False,
    )
    GITHUB_APP_REPO_NOT_INSTALLED = (
        "github-app-repo-not-installed",
        "the App's installation does not grant the repository, or Issues: write (422)",
        False,
    )
    GITHUB_UNAVAILABLE = (
        "github-unavailable",
        "GitHub answered 5xx or could not be reached, after the retries",
        True,
    )
    GITHUB_TIMEOUT = (
        "github-timeout",
        "GitHub did not answer in time, or the invocation has no time left to ask",
        True,
    )
    RATE_LIMITED = (
        "rate-limited",
        "GitHub's rate limit (a retry-after window it gave any container, or the credential's "
        "POSTs per minute and per hour) holds longer than the invocation can wait",
        True,
    )
    POST_OUTCOME_UNKNOWN = (
        "post-outcome-unknown",
        "GitHub's answer to an earlier POST of this mail was lost (timeout, 5xx, lost "
        "connection) and no copy was found yet: not posted again before 60 s after that POST "
        "and a search for its marker",
        True,
    )

    # Webhook: the answer to one request (handler.outbound.http, Outcome;
    # handler.outbound.github_events, Ignored). Transient: answered 503, GitHub may redeliver.
    QUEUED = "queued", "202: the event's work item is queued for the outbox", False
    PONG = "pong", "200: GitHub's ping when the webhook is added", False
    DUPLICATE_DELIVERY = (
        "duplicate-delivery",
        "202: the event was queued before (GitHub's redelivery, another webhook's delivery of "
        "it, or a replay under a new X-GitHub-Delivery): nothing queued",
        False,
    )
    UNKNOWN_REPOSITORY = "unknown-repository", "202: no route names the repository", False
    NOT_NOTIFYING = (
        "not-notifying",
        "202: no route of the repository has notify_participants",
        False,
    )
    EVENT_NOT_HANDLED = (
        "event-not-handled",
        "202: an event other than issue_comment and issues",
        False,
    )
    ACTION_NOT_HANDLED = (
        "action-not-handled",
        "202: an action not mailed (only comments created, issues closed or reopened are)",
        False,
    )
    STALE_EVENT = "stale-event", "202: the event is older than 72 hours (a replay)", False
    FUTURE_EVENT = (
        "future-event",
        "400: the event's own time is later than now beyond five minutes of clock skew",
        False,
    )
    BAD_REQUEST = "bad-request", "400: no event or delivery header, or a malformed one", False
    UNREADABLE_BODY = (
        "unreadable-body",
        "400: the body is not a JSON object as GitHub writes one (not UTF-8 or not JSON, nested "
        "too deep, a number too long, a key twice, a lone surrogate, bad base64, another "
        "content type)",
        False,
    )
    BODY_TOO_LARGE = "body-too-large", "413: the body is larger than 1 MiB", False
    MALFORMED_PAYLOAD = (
        "malformed-payload",
        "400: the payload lacks a field the mail needs, or has it of the wrong type",
        False,
    )
    SIGNATURE_MISSING = "signature-missing", "401: no X-Hub-Signature-256 header", False
    SIGNATURE_INVALID = (
        "signature-invalid",
        "401: not signed with the master secret, nor the secret of the owner or app it names",
        False,
    )
    METHOD_NOT_ALLOWED = "method-not-allowed", "405: a method the path does not take", False
    NOT_FOUND = "not-found", "404: no such path", False
    DELIVERY_IN_PROGRESS = (
        "delivery-in-progress",
        "503: another invocation is queueing this event (redelivered after a minute, it is queued)",
        True,
    )
    STORE_UNAVAILABLE = (
        "store-unavailable",
        "503: the events queued, or the participants of an unsubscribe link, cannot be reached",
        True,
    )
    QUEUE_UNAVAILABLE = "queue-unavailable", "503: the work queue refused the item", True
    UNSUBSCRIBE_PAGE = (
        "unsubscribe-page",
        "200: the page whose button unsubscribes (link scanners only GET)",
        False,
    )
    UNSUBSCRIBE_INVALID = (
        "unsubscribe-invalid",
        "400: the unsubscribe link is malformed or not signed by us",
        False,
    )
    ALREADY_UNSUBSCRIBED = (
        "already-unsubscribed",
        "200: the link's participant was not (or no longer) getting mail about the issue",
        False,
    )

    # Outbox: one update for one participant (handler.outbound.outbox, Outgoing).
    MAILED = "mailed", "the update was sent through SES", False
    ALREADY_MAILED = (
        "already-mailed",
        "an earlier delivery of the event mailed this participant: not sent again",
        False,
    )
    OWN_COMMENT = (
        "own-comment",
        "the comment was posted by us, but not from a mail whose sender was recorded (a route's "
        "App, or a marker without its record): mailed to nobody",
        False,
    )
    AUTHOR = (
        "author",
        "the comment is this participant's own mail (by its authenticated sender): not mailed back",
        False,
    )
    COPIED_ON_MAIL = (
        "copied-on-mail",
        "the participant was in To or Cc of the mail posted as this comment: they have it already",
        False,
    )
    NO_PARTICIPANTS = "no-participants", "nobody wrote to the issue by mail", False
    ROUTE_NOT_NOTIFYING = (
        "route-not-notifying",
        "the route the participant wrote to no longer mails participants (or is gone)",
        False,
    )
    SUPPRESSED = (
        "suppressed",
        "the address bounced or complained: never mailed again (also: the feedback recorded)",
        False,
    )
    UNMAILABLE = (
        "unmailable",
        "the address (non-ASCII) or the event cannot be written into a mail",
        False,
    )
    SES_REJECTED = "ses-rejected", "SES refused the mail for good (MessageRejected)", False
    REACTED = (
        "reacted",
        "the comment got its reach reaction on GitHub: rocket (mailed to every participant it "
        "was for) or confused (one was not reached: suppressed, unmailable, bounced, complained)",
        False,
    )
    REACTION_FAILED = (
        "reaction-failed",
        "GitHub refused the reach reaction (the credential may not react, the comment is gone)",
        False,
    )
    REACTION_UNAVAILABLE = (
        "reaction-unavailable",
        "GitHub could not be reached to set the reach reaction: the message is retried, "
        "and no participant is mailed twice",
        True,
    )
    SES_UNAVAILABLE = (
        "ses-unavailable",
        "SES answered with a failure (throttled, failing) or could not be reached: sent later",
        True,
    )
    MAIL_OUTCOME_UNKNOWN = (
        "mail-outcome-unknown",
        "the mail went to SES but its answer was lost (a read timeout, a connection closed): "
        "it may have been sent, so it is recorded as sent and never sent again; the "
        "participant may miss this update",
        False,
    )
    OUT_OF_TIME = (
        "out-of-time",
        "the invocation had too little time left to send the mail and record it: the message "
        "comes again",
        True,
    )
    FEEDBACK_NO_ACTION = (
        "feedback-no-action",
        "SES feedback that suppresses nobody (a transient bounce, a delivery, a confirmation)",
        False,
    )


# Mail that SES's verdicts or the mail's own headers make never posted, whoever sent it.
NEVER_POSTED = frozenset(
    {
        Reason.SPAM,
        Reason.VIRUS,
        Reason.BOUNCE,
        Reason.AUTO_REPLY,
        Reason.BULK_MAIL,
        Reason.LIST_MAIL,
    }
)


class TicketRouterError(Exception):
    """A failure with a reason code; ``str()`` is the detail, written for people."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        transient: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.transient = reason.transient if transient is None else transient
        # Seconds from now before a retry can succeed (a rate limit's window), when known.
        self.retry_after = retry_after


class RetryLater(RuntimeError):
    """Raised so that Lambda retries the event (or SQS delivers the message again); the message
    says what failed, never a secret."""
