"""GitHubError, and what GitHub's refusal of a comment or a new issue says: the stable reason of
each status, and GitHub's own message for the detail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from handler.reasons import Reason, TicketRouterError

if TYPE_CHECKING:
    import requests


class GitHubError(TicketRouterError):
    """GitHub did not take the comment, the issue or the token request; ``status`` is its answer,
    None when there was none (no time left, no connection)."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        transient: bool | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, detail, transient=transient, retry_after=retry_after)
        self.status = status

    def after(self, attempts: int) -> GitHubError:
        """The same error, its detail saying how many attempts were made."""
        made = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        return GitHubError(
            self.reason,
            f"{self.detail} (after {made})",
            transient=self.transient,
            status=self.status,
            retry_after=self.retry_after,
        )


def comment_refused(response: requests.Response, target: str) -> GitHubError:
    """The error for an answer to a comment on ``target`` ("owner/repo#7") that no retry
    changes."""
    status = response.status_code
    message = error_message(response)
    said = f": {message}" if message else ""
    if status == 404:
        detail = f"{target} does not exist, or the token cannot see the repository{said}"
        return GitHubError(Reason.ISSUE_NOT_FOUND, detail, status=status)
    if status == 410:
        detail = f"{target} is gone (deleted, or issues are disabled for the repository){said}"
        return GitHubError(Reason.ISSUE_GONE, detail, status=status)
    # GitHub answers "Unable to create comment because issue is locked." with a link to
    # https://help.github.com/articles/locking-conversations/ (the same for pull requests).
    if status == 403 and (
        "locked" in message.lower() or "locking-conversations" in _documentation_url(response)
    ):
        detail = f"{target} is locked: only collaborators may comment{said}"
        return GitHubError(Reason.ISSUE_LOCKED, detail, status=status)
    if status == 403:
        detail = (
            f"the token may not comment on {target} (it needs Issues: write, or the repo "
            f"scope){said}"
        )
        return GitHubError(Reason.GITHUB_FORBIDDEN, detail, status=status)
    return _refused(response, target, f"the comment for {target}")


def issue_refused(response: requests.Response, repo: str, target: str) -> GitHubError:
    """The error for an answer to a new issue in ``repo`` that no retry changes."""
    status = response.status_code
    message = error_message(response)
    said = f": {message}" if message else ""
    if status == 404:
        detail = f"{repo} does not exist, or the token cannot see it{said}"
        return GitHubError(Reason.REPO_NOT_FOUND, detail, status=status)
    if status == 410:
        # https://docs.github.com/en/rest/issues/issues#create-an-issue: "Gone" when the
        # repository has issues turned off.
        detail = f"issues are disabled for {repo}{said}"
        return GitHubError(Reason.ISSUES_DISABLED, detail, status=status)
    if status == 403:
        detail = (
            f"the token may not open issues in {repo} (it needs Issues: write, or the repo "
            f"scope){said}"
        )
        return GitHubError(Reason.GITHUB_FORBIDDEN, detail, status=status)
    return _refused(response, target, f"the new issue for {repo}")


def _refused(response: requests.Response, target: str, what: str) -> GitHubError:
    """The errors a comment and an issue share: 401 (transient), 422 and any other answer."""
    status = response.status_code
    message = error_message(response)
    said = f": {message}" if message else ""
    if status == 401:
        # Transient: a rotated or revoked token is an operator's fix away, and the mail waits
        # for it (the mail queue's retries, then its dead-letter queue) rather than being dropped.
        detail = f"GitHub rejected the token (expired or revoked?){said}"
        return GitHubError(Reason.GITHUB_AUTH_FAILED, detail, status=status)
    if status == 422:
        errors = json_object(response).get("errors")
        extra = "; ".join(_describe_error(e) for e in errors) if isinstance(errors, list) else ""
        detail = f"GitHub refused {what}{said}" + (f" ({extra})" if extra else "")
        return GitHubError(Reason.VALIDATION_FAILED, detail, status=status)
    detail = f"GitHub answered {status} for {target}{said}"
    return GitHubError(Reason.GITHUB_REJECTED, detail, status=status)


def json_object(response: requests.Response) -> Mapping[str, Any]:
    """The answer's JSON object; empty when it is not one (GitHub's errors are objects)."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, Mapping) else {}


def error_message(response: requests.Response) -> str:
    """GitHub's ``message`` of an error answer, on one line and bounded, for a detail."""
    message = json_object(response).get("message")
    return " ".join(message.split())[:300] if isinstance(message, str) else ""


def _documentation_url(response: requests.Response) -> str:
    url = json_object(response).get("documentation_url")
    return url if isinstance(url, str) else ""


def _describe_error(error: object) -> str:
    if isinstance(error, Mapping):
        parts = [str(error[k]) for k in ("field", "code", "message") if error.get(k)]
        return " ".join(parts)
    return str(error)
