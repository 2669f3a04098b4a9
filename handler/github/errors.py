"""GitHubError, and what GitHub's refusal of a comment or a new issue says: the stable reason of
each status, and GitHub's own message for the detail. A comment's 404 stands as issue-not-found
only once GitHub said that the credential can see the repository (probed); otherwise the
credential lost access and the mail waits for an operator (repo-not-visible)."""

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
        # GitHub answers 404 for a missing issue and for a repository the credential cannot
        # see alike: the client asks about the repository (probed) before this one stands.
        detail = f"{target} does not exist{said}"
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
        return _not_visible(repo, f"GitHub answered 404 for {target}", said, status)
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


def reaction_refused(
    response: requests.Response, repo: str, comment_id: int, target: str
) -> GitHubError:
    """The error for an answer to a reaction on comment ``comment_id`` in ``repo`` that no retry
    changes: permanent, whatever the status (https://docs.github.com/en/rest/reactions/reactions
    #create-reaction-for-an-issue-comment documents 422 besides 200 and 201; 403, 404 and 410
    are the answers every issue endpoint gives)."""
    status = response.status_code
    message = error_message(response)
    said = f": {message}" if message else ""
    if status == 403:
        detail = (
            f"the credential may not react in {repo} (it needs Issues: write, or the repo "
            f"scope; or the issue is locked){said}"
        )
        return GitHubError(Reason.GITHUB_FORBIDDEN, detail, status=status)
    if status in {404, 410}:
        # GitHub answers 404 alike for a deleted comment and a repository the credential
        # cannot see; nothing is asked further, as a reaction waits for nobody.
        detail = (
            f"GitHub answered {status} for {target}: the comment was deleted, or the credential "
            f"cannot see {repo}{said}"
        )
        return GitHubError(Reason.GITHUB_REJECTED, detail, status=status)
    if status == 422:
        detail = f"GitHub refused {target}{said}"
        return GitHubError(Reason.VALIDATION_FAILED, detail, status=status)
    detail = f"GitHub answered {status} for {target}{said}"
    return GitHubError(Reason.GITHUB_REJECTED, detail, status=status)


def probed(missing: GitHubError, probe: requests.Response, repo: str, target: str) -> GitHubError:
    """What the 404 ``missing`` (a comment's) means, given GitHub's answer ``probe`` to
    ``GET /repos/{repo}`` with the same credential: the issue is missing only when the
    credential can see the repository.

    https://docs.github.com/en/rest/repos/repos#get-a-repository
    """
    status = probe.status_code
    message = error_message(probe)
    said = f": {message}" if message else ""
    # A redirect is a renamed repository: it exists, and the credential sees it.
    if 200 <= status < 400:
        detail = f"{missing.detail} (the credential can see {repo})"
        return GitHubError(Reason.ISSUE_NOT_FOUND, detail, status=missing.status)
    # 403 too: an organisation's SAML enforcement or IP allow list hides it from this credential.
    if status in {403, 404}:
        answered = f"GitHub answered 404 for {target}, and {status} for the repository"
        return _not_visible(repo, answered, said, status)
    if status == 401:
        detail = f"GitHub rejected the token (expired or revoked?){said}"
        return GitHubError(Reason.GITHUB_AUTH_FAILED, detail, status=status)
    # Not knowing whether the issue is missing, nothing is told to the sender: tried again.
    detail = (
        f"GitHub answered 404 for {target}, and {status} when asked whether the credential can "
        f"see {repo}{said}"
    )
    return GitHubError(Reason.GITHUB_UNAVAILABLE, detail, status=status)


def _not_visible(repo: str, answered: str, said: str, status: int | None) -> GitHubError:
    """repo-not-visible: the credential cannot see ``repo``; ``answered`` says how GitHub
    showed it."""
    detail = (
        f"{answered}: the credential cannot see {repo} (it lost access, or the route names a "
        f"wrong repository){said}"
    )
    return GitHubError(Reason.REPO_NOT_VISIBLE, detail, status=status)


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
