"""Which GitHub login posts a route's mail, and against which API: the deployment's token, a
route's token secret, or a GitHub App installation token scoped to the route's repository with
Issues: write (and, to commit a mail's files, another with Contents: write on the repository
they go to). Failures are StoreError (the secrets) or GitHubError (minting); no detail holds a
token, a JWT or a key.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from handler import __version__
from handler.aws.secrets import Secrets, TokenSource
from handler.aws.store import StoreError
from handler.deadline import Deadline
from handler.github.client import API_VERSION, BearerAuth, GitHubClient
from handler.github.errors import GitHubError, error_message, json_object
from handler.github.rate_limit import MemoryPostLimit, PostLimit
from handler.github.retry import Retry, request_timeout, retrying
from handler.reasons import Reason
from handler.routing import GitHubApp, Route, TokenSecret

if TYPE_CHECKING:
    import requests
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# jwt with cryptography (about 70 ms) and requests are imported by the first App login, not with
# this module: a cold start, and routes without an App, do not need them.

DEFAULT_API_URL = "https://api.github.com"
# An installation token (it lives an hour) is replaced this long before GitHub's expires_at: a
# login is followed by one post, whose retries and waits end well within that.
_REFRESH_MARGIN = 300.0
# GitHub: set iat 60 s in the past against clock drift; exp at most 10 minutes ahead. exp is
# 9 minutes ahead (10 after iat), so a clock running a minute fast is still accepted.
_JWT_BACKDATE = 60
_JWT_LIFETIME = 540
# Before the one retry a failed mint gets (with jitter, so concurrent functions differ).
_RETRY_WAIT = 1.0


@dataclass(frozen=True)
class Login:
    """What a route's comments are posted with."""

    # Kept out of the repr, so that logging a Login never logs the token.
    token: str = field(repr=False)
    # route.api_url or the default, without a trailing slash.
    api_url: str
    # What a rate limit belongs to: "default", "secret:<id>", "app:<issuer>/installation:<id>".
    identity: str


@dataclass(frozen=True)
class _Minted:
    token: str = field(repr=False)
    # Clock time from which the token is no longer handed out.
    refresh_at: float


@dataclass(frozen=True)
class _Key:
    """A key secret's text and the key parsed from it, so that it is parsed once."""

    text: str = field(repr=False)
    key: RSAPrivateKey = field(repr=False)


class Credentials:
    """Each route's login, with the secrets and installation tokens cached for the container."""

    def __init__(
        self,
        secrets: Secrets | None,
        default_token: Callable[[], str],
        *,
        forget_default: Callable[[], None] | None = None,
        default_api_url: str = DEFAULT_API_URL,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        max_attempts: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # None without AWS (the CLI): a route with a secret then fails, saying so.
        self._secrets = secrets
        self._default_token = default_token
        self._forget_default = forget_default
        self._default_api_url = default_api_url.rstrip("/")
        # Wall-clock time: GitHub's expires_at is one.
        self._clock = clock
        self._session = session
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._tokens: dict[str, TokenSource] = {}
        self._keys: dict[str, _Key] = {}
        # Key secrets to read again whatever their age: GitHub refused the JWT, or the key.
        self._stale_keys: set[str] = set()
        # By API, app, installation and scope (handler.github.credentials._scope).
        self._minted: dict[tuple[str, str, int, str], _Minted] = {}
        # Concurrent logins of one container (the CLI's threads, tests) mint a token once.
        self._lock = threading.Lock()
        self._headers = {
            "Accept": "application/vnd.github+json",
            "User-Agent": f"ticket-router/{__version__}",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def login(self, route: Route, deadline: Deadline, *, files: str | None = None) -> Login:
        """The token and API for ``route``'s comments; ``deadline`` bounds any request made for
        it. With ``files``, the repository the route's attachments are committed to: the login
        that commits them, which for an App is a token of its own with Contents: write on the
        route's repository and ``files`` (so that it can also see the issue's repository) and
        no Issues permission; the other credentials are the same login either way."""
        credential = route.credential
        if credential is None:
            # The deployment's token belongs to the deployment's API: never sent elsewhere.
            return Login(self._default_token(), self._default_api_url, "default")
        api_url = (route.api_url or self._default_api_url).rstrip("/")
        if isinstance(credential, TokenSecret):
            token = self._secret_token(credential.secret_id)
            return Login(token, api_url, f"secret:{credential.secret_id}")
        token = self._app_token(credential, route.repo, files, api_url, deadline)
        identity = f"app:{credential.issuer}/installation:{credential.installation_id}"
        return Login(token, api_url, identity)

    def forget(self, route: Route, *, files: str | None = None) -> None:
        """Drop what ``route`` logged in with (for ``files``, as login): GitHub refused it
        (rotated, revoked), so the next login reads the secret again, or mints a new
        installation token."""
        credential = route.credential
        with self._lock:
            if credential is None:
                if self._forget_default is not None:
                    self._forget_default()
            elif isinstance(credential, TokenSecret):
                source = self._tokens.get(credential.secret_id)
                if source is not None:
                    source.forget()
            else:
                api_url = (route.api_url or self._default_api_url).rstrip("/")
                scope = _scope(route.repo, files)
                key = (api_url, credential.issuer, credential.installation_id, scope)
                self._minted.pop(key, None)

    def _secret_token(self, secret_id: str) -> str:
        if self._secrets is None:
            raise StoreError(
                Reason.TOKEN_UNAVAILABLE,
                f"the GitHub token secret {secret_id} is in Secrets Manager: AWS credentials "
                "and a region are needed to read it",
            )
        with self._lock:
            source = self._tokens.get(secret_id)
            if source is None:
                source = TokenSource(
                    self._secrets, secret_id, description=f"the GitHub token secret {secret_id}"
                )
                self._tokens[secret_id] = source
        return source.get()

    def _app_token(
        self, app: GitHubApp, repo: str, files: str | None, api_url: str, deadline: Deadline
    ) -> str:
        cache_key = (api_url, app.issuer, app.installation_id, _scope(repo, files))
        with self._lock:
            cached = self._minted.get(cache_key)
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.token
            minted = self._mint(app, self._private_key(app), repo, api_url, deadline, files=files)
            if self._clock() < minted.refresh_at:
                self._minted[cache_key] = minted
            else:
                self._minted.pop(cache_key, None)
            return minted.token

    def _private_key(self, app: GitHubApp) -> RSAPrivateKey:
        secret_id = app.private_key_secret
        where = f"the private key secret {secret_id} of GitHub App {app.issuer}"
        if self._secrets is None:
            raise StoreError(
                Reason.GITHUB_APP_KEY_UNAVAILABLE,
                f"{where} is in Secrets Manager: AWS credentials and a region are needed to "
                "read it",
            )
        text = self._secrets.read(
            secret_id,
            reason=Reason.GITHUB_APP_KEY_UNAVAILABLE,
            what=where,
            fresh=secret_id in self._stale_keys,
        )
        self._stale_keys.discard(secret_id)
        cached = self._keys.get(secret_id)
        if cached is not None and cached.text == text:
            return cached.key
        try:
            key = _load_key(_pem_in(text), where)
        except StoreError:
            # A fixed secret must not wait for the broken one to age out.
            self._stale_keys.add(secret_id)
            raise
        self._keys[secret_id] = _Key(text or "", key)
        return key

    def _mint(
        self,
        app: GitHubApp,
        key: RSAPrivateKey,
        repo: str,
        api_url: str,
        deadline: Deadline,
        *,
        files: str | None,
    ) -> _Minted:
        """``POST /app/installations/{id}/access_tokens`` for ``repo`` with Issues: write and
        nothing else (a leaked token can do no more than comment there), or, for ``files``, for
        ``repo`` and ``files`` with Contents: write and nothing else; asked with a JWT that the
        app's key signs (RS256). An installation covers one account's repositories, named
        without their owner: ``files`` in another account is refused without asking.

        https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
        https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app
        """
        try:
            import jwt  # noqa: PLC0415 - see the note above DEFAULT_API_URL
        except ImportError as error:
            raise _without_app_libraries(error) from error
        import requests  # noqa: PLC0415

        now = int(self._clock())
        claims = {"iat": now - _JWT_BACKDATE, "exp": now + _JWT_LIFETIME, "iss": app.issuer}
        auth = BearerAuth(jwt.encode(claims, key, algorithm="RS256"))
        url = f"{api_url}/app/installations/{app.installation_id}/access_tokens"
        repos = [repo] if files is None or files.lower() == repo.lower() else [repo, files]
        permission = "issues" if files is None else "contents"
        what = (
            f"a token of GitHub App {app.issuer} (installation {app.installation_id}) for "
            + " and ".join(repos)
            + ("" if files is None else " with Contents: write, to commit files")
        )
        owners = {each.partition("/")[0].lower() for each in repos}
        if len(owners) > 1:
            raise GitHubError(
                Reason.GITHUB_APP_REPO_NOT_INSTALLED,
                f"cannot ask for {what}: an installation covers one account's repositories, "
                f"and {files} is not in {repo}'s account",
            )
        body = {
            "repositories": [each.partition("/")[2] for each in repos],
            "permissions": {permission: "write"},
        }
        session = self._http()
        no_time = f"no time left in this invocation to ask for {what}"

        def attempt(_number: int) -> _Minted:
            timeout = request_timeout(self._timeout, deadline, no_time)
            try:
                response = session.post(
                    url,
                    json=body,
                    headers=self._headers,
                    auth=auth,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.Timeout:
                detail = f"GitHub did not answer within {timeout:.1f} s when asked for {what}"
                raise _retry(Reason.GITHUB_TIMEOUT, detail) from None
            except requests.RequestException as error:
                detail = f"cannot reach {api_url} to ask for {what} ({type(error).__name__})"
                raise _retry(Reason.GITHUB_UNAVAILABLE, detail) from None
            if response.status_code == 201:
                return self._minted_from(response, what)
            if response.status_code < 500:
                shown = " and ".join(repos)
                raise self._refusal(response, app, shown, api_url, what, permission=permission)
            detail = f"GitHub answered {response.status_code} when asked for {what}"
            raise _retry(Reason.GITHUB_UNAVAILABLE, detail)

        return retrying(attempt, attempts=self._max_attempts, deadline=deadline, sleep=self._sleep)

    def _http(self) -> requests.Session:
        if self._session is None:
            import requests  # noqa: PLC0415 - see the note above DEFAULT_API_URL

            self._session = requests.Session()
        return self._session

    def _minted_from(self, response: requests.Response, what: str) -> _Minted:
        payload = json_object(response)
        token = payload.get("token")
        if not isinstance(token, str) or not token.strip():
            raise GitHubError(
                Reason.GITHUB_REJECTED,
                f"GitHub answered 201 without a token when asked for {what}",
                status=201,
            )
        expires = _timestamp(payload.get("expires_at"))
        # Unreadable: use it for this post only (refresh_at already past).
        refresh_at = float("-inf") if expires is None else expires - _REFRESH_MARGIN
        return _Minted(token.strip(), refresh_at)

    def _refusal(
        self,
        response: requests.Response,
        app: GitHubApp,
        repo: str,
        api_url: str,
        what: str,
        *,
        permission: str,
    ) -> GitHubError:
        status = response.status_code
        message = error_message(response)
        said = f": {message}" if message else ""
        if status in {301, 302, 303, 307, 308}:
            location = response.headers.get("location", "").strip()
            there = urlsplit(urljoin(api_url + "/", location))
            where = f"{there.scheme}://{there.netloc}" if location else "nowhere"
            return GitHubError(
                Reason.GITHUB_REDIRECT,
                f"GitHub answered {status} to the request for {what}, redirecting to {where}: "
                "a token request is never redirected, and the JWT is not sent on",
                status=status,
            )
        if status == 401:
            # A key rotated since it was cached is read again by the retry; transient, so that
            # the mail waits for the retry (or a fixed secret and a replay) instead of dropping.
            self._stale_keys.add(app.private_key_secret)
            return GitHubError(
                Reason.GITHUB_APP_AUTH_FAILED,
                f"GitHub refused the JWT of GitHub App {app.issuer}: the private key in "
                f"{app.private_key_secret} is not the app's, or {app.issuer} is not its client "
                f"id or app id{said}",
                status=status,
            )
        if status == 404:
            return GitHubError(
                Reason.GITHUB_APP_NOT_INSTALLED,
                f"GitHub App {app.issuer} has no installation {app.installation_id} at "
                f"{api_url} (uninstalled, or a wrong installation_id){said}",
                status=status,
            )
        if status == 422:
            return GitHubError(
                Reason.GITHUB_APP_REPO_NOT_INSTALLED,
                f"installation {app.installation_id} of GitHub App {app.issuer} cannot have a "
                f"token for {repo} with {permission.capitalize()}: write (the repository is not "
                f"among the installation's, or the app lacks that permission){said}",
                status=status,
            )
        if _is_rate_limit(response):
            reset = response.headers.get("x-ratelimit-reset", "").strip()
            when = (
                " until " + datetime.fromtimestamp(int(reset), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                if reset.isdigit()
                else ""
            )
            return GitHubError(
                Reason.RATE_LIMITED,
                f"GitHub rate-limited the request for {what}{when}{said}",
                status=status,
            )
        if status == 403:
            return GitHubError(
                Reason.GITHUB_FORBIDDEN,
                f"GitHub refused {what}{said}",
                status=status,
            )
        return GitHubError(
            Reason.GITHUB_REJECTED,
            f"GitHub answered {status} when asked for {what}{said}",
            status=status,
        )


def _scope(repo: str, files: str | None) -> str:
    """What an installation token is minted for: a route's comments, or its files."""
    if files is None:
        return repo.lower()
    return f"files:{repo.lower()}:{files.lower()}"


def _retry(reason: Reason, detail: str) -> Retry:
    """A failed mint, worth another attempt after a short wait."""
    wait = _RETRY_WAIT + random.uniform(0, 0.5)  # noqa: S311 - jitter, not a secret
    return Retry(GitHubError(reason, detail), wait)


def _is_rate_limit(response: requests.Response) -> bool:
    # https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#rate-limit-errors
    if response.status_code == 429:
        return True
    return response.status_code == 403 and (
        response.headers.get("x-ratelimit-remaining", "").strip() == "0"
        or "rate limit" in error_message(response).lower()
    )


def _timestamp(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 time with its zone (GitHub: ``2016-07-11T22:14:10Z``)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # Without a zone the moment is hours off in one direction or the other.
    return moment.timestamp() if moment.tzinfo is not None else None


def _pem_in(value: str | None) -> str:
    """The PEM text of a key secret: the bare PEM, or JSON ``{"private_key": "..."}``."""
    text = (value or "").strip()
    if not text.startswith("{"):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return ""
    key = parsed.get("private_key") if isinstance(parsed, dict) else None
    return key.strip() if isinstance(key, str) else ""


def _load_key(pem: str, where: str) -> RSAPrivateKey:
    """The RSA key in ``pem``: PKCS#1 ("BEGIN RSA PRIVATE KEY", as GitHub issues it) or PKCS#8.

    Errors are raised outside the ``except`` blocks: the parser's exception, chained as context,
    could carry the key's text into a log.
    """
    try:
        from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415 - see above
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
            load_pem_private_key,
        )
    except ImportError as error:
        raise _without_app_libraries(error) from error

    if not pem:
        problem = "is empty: put the app's private key (the .pem GitHub issued) in it"
    else:
        problem = ""
        try:
            key = load_pem_private_key(pem.encode("utf-8"), password=None)
        except TypeError:
            problem = "holds an encrypted key: store it without a passphrase"
        except (ValueError, UnsupportedAlgorithm):
            problem = (
                "is not a PEM private key (-----BEGIN RSA PRIVATE KEY----- as GitHub issues "
                "it, or -----BEGIN PRIVATE KEY-----)"
            )
        if not problem:
            if isinstance(key, RSAPrivateKey):
                return key
            problem = f"holds no RSA key ({type(key).__name__}): GitHub Apps sign with RSA"
    raise StoreError(Reason.GITHUB_APP_KEY_INVALID, f"{where} {problem}")


def _without_app_libraries(error: ImportError) -> StoreError:
    """An App login in a package built without jwt and cryptography: scripts/package.py leaves
    them out of a zip whose routes name no App. Transient: a package rebuilt from the routes
    file that names the app, and a replay, cure it."""
    return StoreError(
        Reason.GITHUB_APP_UNSUPPORTED,
        f"this package was built without the GitHub App libraries ({error.name or error} cannot "
        "be imported): rebuild it with `make package` from the routes file that names the app, "
        "deploy it and replay the mail",
    )


# The rate limit of a credential, by its API and Login.identity.
PostLimits = Callable[[str, str], PostLimit]


def _own_limit(api_url: str, identity: str) -> PostLimit:
    return MemoryPostLimit()


class GitHubClients:
    """Each route's GitHub client: its login, the rate limit of its credential and API (made
    once by ``limits`` and kept: shared by every client of the container, and, in DynamoDB, of
    every container), and a token GitHub refuses forgotten, so that the retry logs in afresh."""

    def __init__(self, credentials: Credentials, limits: PostLimits = _own_limit) -> None:
        self._credentials = credentials
        self._limit_of = limits
        self._limits: dict[tuple[str, str], PostLimit] = {}
        self._lock = threading.Lock()

    def __call__(
        self, route: Route, deadline: Deadline, *, files: str | None = None
    ) -> GitHubClient:
        """``route``'s client for its comments, or, with ``files`` (the repository its
        attachments go to), for committing them (Credentials.login); the same rate limit."""
        login = self._credentials.login(route, deadline, files=files)
        key = (login.api_url, login.identity)
        with self._lock:
            limit = self._limits.get(key)
            if limit is None:
                limit = self._limits[key] = self._limit_of(*key)
        return GitHubClient(
            login.token,
            deadline=deadline,
            api_url=login.api_url,
            limit=limit,
            on_unauthorized=partial(self._credentials.forget, route, files=files),
        )
