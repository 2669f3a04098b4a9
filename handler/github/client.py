"""GitHub REST: post an issue comment or open an issue, retried within the invocation's
deadline (handler.github.retry), in turn under the credential's shared rate limit
(handler.github.rate_limit), never posting a mail twice: its marker is looked for first when the
mail is not fresh, and after any POST whose outcome is unknown, which is recorded before it is
sent and not posted again before LATE_POST_WINDOW. Every failure is a GitHubError with a stable
reason (handler.github.errors). The design is in docs/architecture.md ("Never twice"). The same
session, retries and limit serve a mail's files' requests (exchange, handler.github.contents).

https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
https://docs.github.com/en/rest/issues/issues#create-an-issue
https://docs.github.com/en/rest/reactions/reactions#create-reaction-for-an-issue-comment
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

from handler import __version__
from handler.deadline import Deadline
from handler.github.contents import GitHubFiles
from handler.github.errors import (
    GitHubError,
    comment_refused,
    error_message,
    issue_refused,
    json_object,
    probed,
    reaction_refused,
)
from handler.github.posts import PostedComment, PostedIssue, Posting, marker_in
from handler.github.rate_limit import MemoryPostLimit, PostLimit
from handler.github.retry import (
    MAX_RATE_LIMIT_WAIT,
    SECONDARY_LIMIT_WAIT,
    Retry,
    backoff,
    import_stamina,
    is_unnamed_limit,
    rate_limit_detail,
    rate_limit_wait,
    request_timeout,
    retrying,
    time_left,
)
from handler.reasons import Reason

if TYPE_CHECKING:
    import requests

API_VERSION = "2022-11-28"
_MAX_REDIRECTS = 3
# Pages of 100 comments or issues searched for a marker; those since the mail arrived fit in one.
_MAX_PAGES = 10
# Seconds of slack between our clock and GitHub's when asking for comments or issues "since".
_CLOCK_SKEW = 300.0
# After a POST whose outcome is unknown, nothing is posted again for this long after it was sent,
# and then only once its marker was looked for: GitHub ends a request after 10 s, so a POST it
# applies at all shows by then. One applied later still and not yet listed can be duplicated
# (docs/architecture.md, "the remaining window").
LATE_POST_WINDOW = 60.0


# requests (with charset-normalizer and http.cookiejar, about 15 ms) and stamina (with tenacity,
# about 25 ms, handler.github.retry) are imported by the first client, not with this module: a
# cold start, and a mail that is not posted, do not need them.


class BearerAuth:
    """The token as a bearer credential; given as ``auth`` so that a ~/.netrc cannot replace it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


_T = TypeVar("_T", PostedComment, PostedIssue)


@dataclass(frozen=True)
class _Creation(Generic[_T]):
    """One POST that creates something on GitHub, as the shared retry loop sees it."""

    url: str
    payload: Mapping[str, object]
    # How details name it: "owner/repo#7", "a new issue in owner/repo".
    target: str
    # The detail when the invocation has no time left to send a request.
    no_time: str
    # The detail of a rate limit that names no reset time.
    limited: str
    # The copy carrying the body's marker created since a moment (epoch seconds), if any.
    find: Callable[[float], _T | None]
    # The result of a 2xx answer to the POST sent at a moment.
    created: Callable[[requests.Response, float], _T]
    # The error for an answer that no retry can change.
    refused: Callable[[requests.Response], GitHubError]


class _Finished(Generic[_T]):
    """A creation whose body ``finish`` makes (storing a mail's files), the first time it is
    about to be sent: after any search for an earlier copy, never when one was found."""

    def __init__(self, creation: _Creation[_T], finish: Callable[[], str] | None) -> None:
        self._creation: _Creation[_T] = creation
        self._finish = finish

    def __call__(self) -> _Creation[_T]:
        if self._finish is not None:
            body = self._finish()
            self._finish = None
            payload = {**self._creation.payload, "body": body}
            self._creation = replace(self._creation, payload=payload)
        return self._creation


class GitHubClient:
    """Posts comments and opens issues with one token against one API base (github.com or an
    Enterprise host)."""

    def __init__(
        self,
        token: str,
        *,
        deadline: Deadline,
        api_url: str = "https://api.github.com",
        timeout: float = 10.0,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
        limit: PostLimit | None = None,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        # Told of a 401 before it is raised, so that the retry logs in afresh.
        self._on_unauthorized = on_unauthorized
        # The credential's rate limit, shared with every client (and container) that posts
        # with it; this client's own when none is given.
        self._limit = limit if limit is not None else MemoryPostLimit()
        # The moment this client has slept until: "now" is never earlier, so that a wait is
        # never slept twice, even by a test's clock that a sleep does not move.
        self._resumed = 0.0
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        # Bounds every wait and every request timeout (see retrying).
        self._deadline = deadline
        self._sleep = sleep
        self._clock = clock
        if session is None:
            import requests  # noqa: PLC0415 - see the note above BearerAuth

            session = requests.Session()
        self._session = session
        import_stamina()
        self._auth = BearerAuth(token)
        self._headers = {
            "Accept": "application/vnd.github+json",
            "User-Agent": f"ticket-router/{__version__}",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def create_comment(
        self,
        repo: str,
        issue: int,
        body: str,
        *,
        since: float | None = None,
        posting: Posting | None = None,
        finish: Callable[[], str] | None = None,
    ) -> PostedComment:
        """``POST /repos/{owner}/{repo}/issues/{issue}/comments`` with ``{"body": body}``.

        A body carrying a mail marker (handler.github.posts) is never posted twice: with
        ``since`` (epoch seconds: the mail is a retry or a replay) the issue's comments since
        then are searched for the marker first. ``posting`` records each POST before it is
        sent; after one whose outcome is unknown (a timeout, a lost connection, a 5xx; in this
        attempt or an earlier invocation's) the comments are searched at once, and again once
        LATE_POST_WINDOW has passed since it, before anything is posted. A comment found is
        returned with ``found`` set. ``finish``, when given, makes the body actually posted
        (with the same marker), once, only when no earlier copy was found: a mail's files are
        stored there, so that a replay of a posted mail stores none.
        """
        url = f"{_repo_url(self._api_url, repo)}/issues/{issue}/comments"
        target = f"{repo}#{issue}"
        no_time = f"no time left in this invocation to post to {target}"
        mark = marker_in(body)

        def refused(response: requests.Response) -> GitHubError:
            error = comment_refused(response, target)
            if response.status_code != 404:
                return error
            return self._probed(error, repo, target)

        def find(since: float) -> PostedComment | None:
            if mark is None:
                return None
            return self._find_marked(
                f"{url}?since={_stamp(since)}&per_page=100",
                target,
                no_time,
                refused,
                lambda comment: _marked_comment(comment, mark),
            )

        creation = _Creation(
            url=url,
            payload={"body": body},
            target=target,
            no_time=no_time,
            limited=f"GitHub rate-limited the comment for {target}",
            find=find,
            created=lambda response, _started: _posted(response),
            refused=refused,
        )
        return self._create(creation, mark, since, posting, finish)

    def create_issue(
        self,
        repo: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        *,
        since: float | None = None,
        posting: Posting | None = None,
        finish: Callable[[], str] | None = None,
    ) -> PostedIssue:
        """``POST /repos/{owner}/{repo}/issues`` with ``{"title": title, "body": body}``, and
        ``"labels"`` when there are any.

        GitHub silently drops the labels when the token may not push to the repository. The
        marker guard is create_comment's, searching the repository's issues (``state=all``, so
        that one closed meanwhile still counts) instead of an issue's comments. A returned
        number 0 means GitHub opened the issue, but neither its answer nor a search for the
        marker said which: the caller says that an issue was opened without knowing which.
        """
        url = f"{_repo_url(self._api_url, repo)}/issues"
        target = f"a new issue in {repo}"
        no_time = f"no time left in this invocation to open {target}"
        mark = marker_in(body)

        def refused(response: requests.Response) -> GitHubError:
            return issue_refused(response, repo, target)

        def find(since: float) -> PostedIssue | None:
            if mark is None:
                return None
            return self._find_marked(
                f"{url}?state=all&since={_stamp(since)}&per_page=100",
                f"{repo}'s issues",
                no_time,
                refused,
                lambda issue: _marked_issue(issue, mark),
            )

        def created(response: requests.Response, started: float) -> PostedIssue:
            payload = json_object(response)
            number, html_url = payload.get("number"), payload.get("html_url")
            if isinstance(number, int) and not isinstance(number, bool) and number > 0:
                url = html_url if isinstance(html_url, str) else ""
                return PostedIssue(number, url, _label_names(payload.get("labels")))
            # The issue exists but the answer does not say which: its marker can. Any failure
            # to look leaves it unknown; posting again would open it twice.
            try:
                found = find(started - _CLOCK_SKEW)
            except GitHubError:
                found = None
            return found or PostedIssue(0, "")

        payload: dict[str, object] = {"title": title, "body": body}
        if labels:
            payload["labels"] = list(labels)
        creation = _Creation(
            url=url,
            payload=payload,
            target=target,
            no_time=no_time,
            limited=f"GitHub rate-limited opening {target}",
            find=find,
            created=created,
            refused=refused,
        )
        return self._create(creation, mark, since, posting, finish)

    def react(self, repo: str, comment_id: int, content: str) -> bool:
        """``POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions`` with
        ``{"content": content}`` (``rocket``, ``confused``: GitHub's list of reactions): True when
        GitHub made it (201), False when the credential had set it already (200). Retried like
        any exchange (a repeat finds it there); a refusal no retry changes is a permanent
        GitHubError (errors.reaction_refused)."""
        target = f"the {content} reaction on comment {comment_id} in {repo}"
        response = self.exchange(
            "POST",
            repo,
            f"/issues/comments/{comment_id}/reactions",
            target,
            payload={"content": content},
        )
        if response.status_code in {200, 201}:
            return response.status_code == 201
        raise reaction_refused(response, repo, comment_id, target)

    def files(self) -> GitHubFiles:
        """The files of the repositories this credential may write (handler.github.contents),
        sharing this client's session, token, deadline, retries and the credential's limit."""
        return GitHubFiles(self)

    def exchange(
        self,
        method: str,
        repo: str,
        path: str,
        target: str,
        *,
        payload: Mapping[str, object] | None = None,
        query: Mapping[str, str] | None = None,
        again: Callable[[requests.Response], bool] | None = None,
    ) -> requests.Response:
        """``method`` ``/repos/{owner}/{repo}{path}``: GitHub's answer, unless it is one to wait
        out, retried within the deadline: a 5xx, a timeout, a lost connection, a rate limit or
        an answer ``again`` says to repeat (attachment-store-unavailable when that persists);
        each failing for good is a transient GitHubError, a 401 too (after on_unauthorized).
        Any other answer is returned, for the caller to read.

        Every request but a GET creates content on GitHub's side (an upload, a commit, a ref):
        each attempt takes its turn under the credential's limit first. ``target`` names the
        request in details ("the file a/b.png on main of owner/files"). A retried request must
        be safe to repeat: the contents adapter's are (a path is created once, a ref moved to
        the same commit stays there).
        """
        import requests  # noqa: PLC0415 - already imported by __init__: a lookup

        url = _repo_url(self._api_url, repo) + path
        if query:
            url += "?" + urlencode(query)
        no_time = f"no time left in this invocation for {target}"
        unnamed_limits = 0

        def attempt(number: int) -> requests.Response:
            nonlocal unnamed_limits
            self._request_timeout(no_time)
            if method != "GET":
                self._take_turn(target)
            timeout = self._request_timeout(no_time)
            try:
                response = self._request(method, url, payload, target, timeout)
            except requests.Timeout:
                detail = f"GitHub did not answer within {timeout:.1f} s for {target}"
                raise Retry(GitHubError(Reason.GITHUB_TIMEOUT, detail), backoff(number)) from None
            except requests.RequestException as error:
                detail = f"cannot reach GitHub for {target} ({type(error).__name__})"
                unreachable = GitHubError(Reason.GITHUB_UNAVAILABLE, detail)
                raise Retry(unreachable, backoff(number)) from None
            status = response.status_code
            wait = rate_limit_wait(response, self._now)
            if wait is None and is_unnamed_limit(response):
                wait = SECONDARY_LIMIT_WAIT * 2**unnamed_limits
                unnamed_limits += 1
            if wait is not None:
                limited = self._held(response, target, f"GitHub rate-limited {target}", wait)
                raise limited.after(number) if wait > MAX_RATE_LIMIT_WAIT else Retry(limited, wait)
            message = error_message(response)
            said = f": {message}" if message else ""
            if status >= 500 or (again is not None and again(response)):
                reason = (
                    Reason.GITHUB_UNAVAILABLE
                    if status >= 500
                    else Reason.ATTACHMENT_STORE_UNAVAILABLE
                )
                failed = GitHubError(
                    reason, f"GitHub answered {status} for {target}{said}", status=status
                )
                raise Retry(failed, backoff(number))
            if status == 401:
                detail = f"GitHub rejected the token (expired or revoked?){said}"
                raise self._refuse(GitHubError(Reason.GITHUB_AUTH_FAILED, detail, status=status))
            return response

        return retrying(
            attempt, attempts=self._max_attempts, deadline=self._deadline, sleep=self._pause
        )

    def _create(
        self,
        creation: _Creation[_T],
        mark: str | None,
        since: float | None,
        posting: Posting | None,
        finish: Callable[[], str] | None = None,
    ) -> _T:
        """POST until GitHub takes it, a permanent answer, or no attempt or time is left.

        With a marker, the earlier copy is looked for first when the mail is not fresh
        (``since``) or a POST's outcome is unknown; the posting record says so across
        invocations. Without one nothing can be looked for, and nothing is recorded.
        """
        record = posting if mark is not None else None
        # When the latest POST whose outcome is unknown was sent: found recorded, or made here.
        unknown = record.sent_at() if record is not None else None
        unnamed_limits = 0
        sending = _Finished(creation, finish)

        def look_from() -> float | None:
            if unknown is None:
                return since
            sent = unknown - _CLOCK_SKEW
            return sent if since is None else min(since, sent)

        def attempt(number: int) -> _T:
            nonlocal unknown, unnamed_limits
            start = look_from()
            if mark is not None and start is not None:
                existing = self._earlier_copy(creation, start, unknown)
                if existing is not None:
                    return replace(existing, found=True)
            # The body made (the files stored) before the turn and the record of the POST.
            ready = sending()
            # Neither a turn under the limit nor a record is taken without time to send.
            self._request_timeout(creation.no_time)
            self._take_turn(creation.target)
            started = self._now()
            if record is not None:
                record.sending(started)
            try:
                response = self._send(ready, number)
            except Retry:
                unknown = started if mark is not None else None
                raise
            except GitHubError:
                # Nothing was created: a redirect refused, or no time left to send.
                if record is not None:
                    record.settled()
                raise
            status = response.status_code
            if 200 <= status < 300:
                return creation.created(response, started)
            if status >= 500:
                unknown = started if mark is not None else None
            else:
                # GitHub answered, and created nothing.
                if record is not None:
                    record.settled()
                unknown = None
            wait = rate_limit_wait(response, self._now)
            if wait is None and is_unnamed_limit(response):
                # GitHub: without headers wait at least a minute, and exponentially longer
                # while the secondary limit persists (the cap turns the second into a failure).
                wait = SECONDARY_LIMIT_WAIT * 2**unnamed_limits
                unnamed_limits += 1
            if wait is not None:
                raise self._rate_limited(creation, response, wait, number)
            if status >= 500:
                detail = f"GitHub answered {status} for {creation.target}"
                unavailable = GitHubError(Reason.GITHUB_UNAVAILABLE, detail, status=status)
                raise Retry(unavailable, backoff(number))
            raise self._refuse(creation.refused(response))

        return retrying(
            attempt, attempts=self._max_attempts, deadline=self._deadline, sleep=self._pause
        )

    def _earlier_copy(
        self, creation: _Creation[_T], start: float, unknown: float | None
    ) -> _T | None:
        """The copy posted since ``start``, if GitHub lists one; after a POST sent at
        ``unknown`` whose outcome is unknown, not looked for the last time before a late-applied
        POST would show."""
        if unknown is not None:
            early = self._await_late_post(creation, unknown, start)
            if early is not None:
                return early
        return creation.find(start)

    def _rate_limited(
        self, creation: _Creation[_T], response: requests.Response, wait: float, attempt: int
    ) -> Exception:
        """A rate limit answer: the credential's hold for every container, and the Retry that
        waits it out, or the error when it is longer than any wait."""
        limited = self._held(response, creation.target, creation.limited, wait)
        return limited.after(attempt) if wait > MAX_RATE_LIMIT_WAIT else Retry(limited, wait)

    def _held(
        self, response: requests.Response, target: str, limited: str, wait: float
    ) -> GitHubError:
        """The credential's hold, ``wait`` seconds for every container whatever the request,
        and the rate-limited error that says so."""
        self._limit.hold(self._now() + wait)
        return GitHubError(
            Reason.RATE_LIMITED,
            rate_limit_detail(response, target, limited),
            status=response.status_code,
            retry_after=wait,
        )

    def _await_late_post(self, creation: _Creation[_T], sent: float, start: float) -> _T | None:
        """Before anything is posted after a POST sent at ``sent`` whose outcome is unknown:
        its copy if GitHub lists it already; else sleep until LATE_POST_WINDOW after it (the
        caller then searches again), or post-outcome-unknown when that does not fit."""
        lifts = sent + LATE_POST_WINDOW
        if lifts <= self._now():
            return None
        try:
            early = creation.find(start)
        except GitHubError as error:
            # The search after the wait is the one that decides; a permanent answer stands.
            if not error.transient:
                raise
            early = None
        if early is not None:
            return early
        wait = lifts - self._now()
        if wait > 0 and wait + 1.0 > time_left(self._deadline):
            raise GitHubError(
                Reason.POST_OUTCOME_UNKNOWN,
                f"the outcome of the POST sent at {_stamp(sent)} for {creation.target} is not "
                f"known and no copy is listed yet; not posted again before {_stamp(lifts)}",
                retry_after=wait,
            )
        if wait > 0:
            self._pause(wait)
        return None

    def _probed(self, missing: GitHubError, repo: str, target: str) -> GitHubError:
        """What a comment's 404 (``missing``) means: ``GET /repos/{owner}/{repo}`` with the same
        credential tells a missing issue from a repository it cannot see (errors.probed). Asked
        once, within the deadline; any failure to ask is transient, so that no sender is told
        of a missing issue that may exist."""
        import requests  # noqa: PLC0415 - already imported by __init__: a lookup

        asked = f"GitHub answered 404 for {target}, and"
        no_time = f"{asked} no time is left to ask whether the credential can see {repo}"
        try:
            probe = self._session.get(
                _repo_url(self._api_url, repo),
                headers=self._headers,
                auth=self._auth,
                timeout=self._request_timeout(no_time),
                allow_redirects=False,
            )
        except requests.Timeout:
            detail = f"{asked} did not answer in time whether the credential can see {repo}"
            return GitHubError(Reason.GITHUB_TIMEOUT, detail)
        except requests.RequestException as error:
            detail = f"{asked} cannot be reached to ask whether the credential can see {repo}"
            detail += f" ({type(error).__name__})"
            return GitHubError(Reason.GITHUB_UNAVAILABLE, detail)
        wait = rate_limit_wait(probe, self._now)
        if wait is None and is_unnamed_limit(probe):
            wait = SECONDARY_LIMIT_WAIT
        if wait is not None:
            limited = f"GitHub rate-limited the question whether the credential can see {repo}"
            return self._held(probe, target, limited, wait)
        return probed(missing, probe, repo, target)

    def _take_turn(self, target: str) -> None:
        """Wait for this POST's turn under the credential's rate limit, and take it; fail now,
        as rate-limited with no request made, when the wait does not fit."""
        while True:
            now = self._now()
            latest = now + max(0.0, min(MAX_RATE_LIMIT_WAIT, time_left(self._deadline) - 1.0))
            moment = self._limit.reserve(now, latest)
            if moment > latest:
                raise GitHubError(
                    Reason.RATE_LIMITED,
                    f"GitHub's rate limit holds until {_stamp(moment)}; {target} not posted "
                    "(no request made)",
                    retry_after=moment - now,
                )
            if moment <= now:
                return
            self._pause(moment - now)
            # A retry-after window another container was given meanwhile voids the turn.
            if self._limit.held_until() <= self._now():
                return

    def _now(self) -> float:
        return max(self._clock(), self._resumed)

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``: a wait GitHub, the limit or the late-POST window asks for."""
        until = self._now() + seconds
        self._sleep(seconds)
        self._resumed = max(self._resumed, until)

    def _refuse(self, error: GitHubError) -> GitHubError:
        if error.status == 401 and self._on_unauthorized is not None:
            self._on_unauthorized()
        return error

    def _find_marked(
        self,
        first: str,
        where: str,
        no_time: str,
        refused: Callable[[requests.Response], GitHubError],
        pick: Callable[[Mapping[str, Any]], _T | None],
    ) -> _T | None:
        """The first listed entry that ``pick`` takes, from the list at ``first`` and its next
        pages, if there is one.

        Any failure to look is transient, except the answers that also refuse the POST: posting
        without knowing could post twice.
        """
        import requests  # noqa: PLC0415 - already imported by __init__: a lookup

        page_url: str | None = first
        for _ in range(_MAX_PAGES):
            if page_url is None:
                return None
            try:
                response = self._session.get(
                    page_url,
                    headers=self._headers,
                    auth=self._auth,
                    timeout=self._request_timeout(no_time),
                    allow_redirects=False,
                )
            except requests.RequestException as error:
                raise GitHubError(
                    Reason.GITHUB_UNAVAILABLE,
                    f"cannot check {where} for an earlier copy ({type(error).__name__})",
                ) from None
            if response.status_code != 200:
                if response.status_code in {404, 410, 401}:
                    raise self._refuse(refused(response))
                raise GitHubError(
                    Reason.GITHUB_UNAVAILABLE,
                    f"GitHub answered {response.status_code} when checking {where} for an "
                    "earlier copy",
                    status=response.status_code,
                )
            for entry in _json_list(response):
                found = pick(entry) if isinstance(entry, Mapping) else None
                if found is not None:
                    return found
            page_url = response.links.get("next", {}).get("url")
        return None

    def _request_timeout(self, no_time: str) -> float:
        """The timeout of the next request, or github-timeout (``no_time``) when none fits."""
        return request_timeout(self._timeout, self._deadline, no_time)

    def _send(self, creation: _Creation[_T], attempt: int) -> requests.Response:
        """One request; Retry when it failed in a way worth retrying."""
        import requests  # noqa: PLC0415 - already imported by __init__: a lookup

        target = creation.target
        timeout = self._request_timeout(creation.no_time)
        try:
            return self._request("POST", creation.url, creation.payload, target, timeout)
        except requests.Timeout:
            # A timed-out POST may still have been applied: the retry looks for its marker.
            detail = f"GitHub did not answer within {timeout:.1f} s for {target}"
            timed_out = GitHubError(Reason.GITHUB_TIMEOUT, detail)
            raise Retry(timed_out, backoff(attempt)) from None
        except requests.RequestException as error:
            detail = f"cannot reach GitHub for {target} ({type(error).__name__})"
            unreachable = GitHubError(Reason.GITHUB_UNAVAILABLE, detail)
            raise Retry(unreachable, backoff(attempt)) from None

    def _request(
        self,
        method: str,
        url: str,
        payload: Mapping[str, object] | None,
        target: str,
        timeout: float,
    ) -> requests.Response:
        """One request, following redirects that stay on the API host (a renamed repository).

        Followed here because requests turns a POST redirected by 301 or 302 into a GET, while
        GitHub asks for the same request to be repeated at the new location.
        """
        for _ in range(_MAX_REDIRECTS):
            response = self._session.request(
                method,
                url,
                json=payload,
                headers=self._headers,
                auth=self._auth,
                timeout=timeout,
                allow_redirects=False,
            )
            if response.status_code not in {301, 302, 307, 308}:
                return response
            url = self._redirect_target(url, response, target)
        return response

    def _redirect_target(self, url: str, response: requests.Response, target: str) -> str:
        """Where a redirect points, when it stays on the API host (a renamed repository).

        GitHub answers a POST to a renamed repository with 307, to be repeated as a POST:
        https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#follow-redirects
        """
        location = response.headers.get("location", "").strip()
        there, here = urlsplit(urljoin(url, location)), urlsplit(self._api_url)
        if not location:
            where = "nowhere (no Location header)"
        elif (there.scheme, there.netloc) != (here.scheme, here.netloc):
            where = f"{there.scheme}://{there.netloc}; the token is not sent there"
        else:
            return there.geturl()
        raise GitHubError(
            Reason.GITHUB_REDIRECT,
            f"GitHub answered {response.status_code} for {target}, redirecting to {where}",
            status=response.status_code,
        )


def _repo_url(api_url: str, repo: str) -> str:
    """``{api}/repos/{owner}/{name}``, each segment percent-encoded so that it stays one segment;
    repo-not-visible for a repo that is not owner/name (a route naming a wrong repository)."""
    owner, _, name = repo.partition("/")
    if not owner or name in {"", ".", ".."} or "/" in name or owner in {".", ".."}:
        raise GitHubError(Reason.REPO_NOT_VISIBLE, f"{repo!r} is not an owner/name repository")
    return f"{api_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _stamp(since: float) -> str:
    return datetime.fromtimestamp(max(0.0, since), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _marked_comment(comment: Mapping[str, Any], mark: str) -> PostedComment | None:
    if marker_in(str(comment.get("body") or "")) != mark:
        return None
    comment_id, url = comment.get("id"), comment.get("html_url")
    return PostedComment(
        id=comment_id if isinstance(comment_id, int) else 0,
        url=url if isinstance(url, str) else "",
    )


def _marked_issue(issue: Mapping[str, Any], mark: str) -> PostedIssue | None:
    # The issues list includes pull requests, told apart by this key: a pull request's
    # description quoting a mail is not the issue that mail opened.
    # https://docs.github.com/en/rest/issues/issues#list-repository-issues
    if "pull_request" in issue or marker_in(str(issue.get("body") or "")) != mark:
        return None
    number, url = issue.get("number"), issue.get("html_url")
    return PostedIssue(
        number=number if isinstance(number, int) and not isinstance(number, bool) else 0,
        url=url if isinstance(url, str) else "",
    )


def _label_names(labels: object) -> tuple[str, ...] | None:
    if not isinstance(labels, list):
        return None
    names = [label.get("name") if isinstance(label, Mapping) else label for label in labels]
    return tuple(name for name in names if isinstance(name, str))


def _json_list(response: requests.Response) -> list[Any]:
    try:
        payload = response.json()
    except ValueError:
        return []
    return payload if isinstance(payload, list) else []


def _posted(response: requests.Response) -> PostedComment:
    # GitHub created the comment: even when the body cannot be read, posting again would
    # duplicate it, so this is a success without an id.
    payload = json_object(response)
    comment_id = payload.get("id")
    url = payload.get("html_url")
    return PostedComment(
        id=comment_id if isinstance(comment_id, int) else 0,
        url=url if isinstance(url, str) else "",
    )
