"""What the JSON Schema cannot see in one route: malformed domains, prefixes, repositories,
sender entries, secrets and URLs, and keys that need or exclude one another. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from handler.routing.attachments import attachment_problems
from handler.routing.domains import domain_problem, normalize_domain
from handler.routing.model import (
    DEFAULT_MAX_AGE,
    ISSUE_NUMBER,
    REPO_FULL_NAME,
    Credential,
    GitHubApp,
    TokenSecret,
    quoted,
)
from handler.routing.templates import notice_problems

# RFC 5322 dot-atom text: what a prefix may hold and still start an unquoted local part. A
# trailing dot is allowed because the issue number follows it ("web.45").
_PREFIX = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\.?")
# A whole unquoted local part (RFC 5322 dot-atom), at most 64 characters (RFC 5321).
_LOCAL_PART = re.compile(
    r"(?=.{1,64}$)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
# Secrets Manager: a name, or the ARN of a secret (names allow these characters, up to 512).
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_SECRET_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:secret:"
    r"[A-Za-z0-9/_+=.@-]{1,512}"
)
# GitHub App client ids: Iv1.0123456789abcdef, Iv23liAbCdEf0123456789.
_CLIENT_ID = re.compile(r"[A-Za-z0-9.]{1,100}")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
# A duration: a whole number of hours or days, as max_age is written ("7d", "36h").
_DURATION = re.compile(r"(0|[1-9][0-9]{0,8})([hd])")
_UNIT_SECONDS = {"h": 3600, "d": 86400}
# max_age bounds. Below an hour, mail held up by greylisting or a slow relay, or sent from a
# client whose clock is off, would be refused; beyond a year the rule no longer stops a replay.
MIN_MAX_AGE = 3600
MAX_MAX_AGE = 365 * 86400


@dataclass(frozen=True)
class Problem:
    """What is wrong in a route, and the key path within it that is wrong: a value wrong
    whatever else the route holds. An empty path: keys wrong together, a problem of the route."""

    message: str
    path: tuple[str | int, ...] = ()


def route_problems(raw: Mapping[str, Any]) -> Iterator[Problem]:
    """What the schema cannot see, for every key that at least has the right type."""
    domain, prefix, repo = raw.get("domain"), raw.get("prefix", ""), raw.get("repo")
    if isinstance(domain, str) and domain:
        found = _domain_problem(domain)
        if found:
            yield Problem(found, ("domain",))
    if isinstance(prefix, str) and not valid_prefix(prefix.strip().lower()):
        yield Problem(
            f"prefix {quoted(prefix)} cannot start an address: use ASCII letters, digits and "
            "characters such as - _ . + (no spaces, no @, no leading or doubled dot)",
            ("prefix",),
        )
    if isinstance(repo, str) and repo:
        name = repo.strip().partition("/")[2]
        if not REPO_FULL_NAME.fullmatch(repo.strip()) or name in {".", ".."}:
            yield Problem(
                f"repo {quoted(repo)} is not of the form owner/name (e.g. example-org/website)",
                ("repo",),
            )
        elif name.lower().endswith(".git"):
            yield Problem(
                f"repo {quoted(repo)} ends in .git: write owner/name without it", ("repo",)
            )
    senders = raw.get("allowed_senders")
    for position, entry in enumerate(senders if isinstance(senders, list) else []):
        problem = sender_entry(entry)[1] if isinstance(entry, str) and entry else None
        if problem:
            yield Problem(f"allowed_senders entry {problem}", ("allowed_senders", position))
    widened = raw.get("cc_participants")
    for position, entry in enumerate(widened if isinstance(widened, list) else []):
        problem = sender_entry(entry)[1] if isinstance(entry, str) and entry else None
        if problem:
            yield Problem(f"cc_participants entry {problem}", ("cc_participants", position))
    yield from _opening_problems(raw)
    yield from _credential_problems(raw)
    yield from (Problem(message, path) for path, message in notice_problems(raw))
    yield from (Problem(message, path) for path, message in attachment_problems(raw))
    age = raw.get("max_age")
    if isinstance(age, str) and age:
        yield from (Problem(message, ("max_age",)) for message in _max_age_problems(age))
    url = raw.get("api_url")
    if isinstance(url, str) and url:
        yield from (Problem(message, ("api_url",)) for message in _api_url_problems(url))
        if "token_secret" not in raw and "github_app" not in raw:
            yield Problem(
                "api_url needs the route's own credential (token_secret or github_app): the "
                "deployment's token is for GITHUB_API_URL and is never sent to another host"
            )


def _domain_problem(domain: str) -> str | None:
    """What is wrong with a route's domain, if anything. SES, Route 53 and Terraform (which
    cannot convert) take a domain in its ``xn--`` form only: an internationalised one written in
    Unicode is refused here with that form, so that ``check`` passes only what Terraform
    deploys."""
    normal = normalize_domain(domain)
    if normal is None:
        return f"domain {quoted(domain)} is not a valid domain name{_domain_hint(domain)}"
    if not domain.isascii():
        return (
            f"domain {quoted(domain)} is internationalised: write it as {normal} "
            "(SES and Terraform take the xn-- form only)"
        )
    return None


def valid_prefix(prefix: str) -> bool:
    return not prefix or _PREFIX.fullmatch(prefix) is not None


def opening(prefix: str, new: object) -> str | None:
    """The local part that opens issues (``prefix`` included) when ``new`` is a valid
    new_issue_address. An issue number gives none: it is reported as such, not again as a clash
    with the route itself."""
    if not isinstance(new, str) or ISSUE_NUMBER.fullmatch(new.strip()):
        return None
    local = prefix + new.strip().lower()
    return local if _LOCAL_PART.fullmatch(local) else None


def _opening_problems(raw: Mapping[str, Any]) -> Iterator[Problem]:
    new, prefix = raw.get("new_issue_address"), raw.get("prefix", "")
    if isinstance(new, str) and new and isinstance(prefix, str):
        local = prefix.strip().lower() + new.strip().lower()
        if ISSUE_NUMBER.fullmatch(new.strip()):
            yield Problem(
                f"new_issue_address {quoted(new)} is an issue number: {local}@ already names "
                "an issue; use a word such as new",
                ("new_issue_address",),
            )
        elif len(local) > 64:
            yield Problem(
                f"new_issue_address {quoted(new)} makes the local part {quoted(local)} longer "
                "than the 64 characters an address allows",
                ("new_issue_address",),
            )
        elif not _LOCAL_PART.fullmatch(local):
            yield Problem(
                f"new_issue_address {quoted(new)} cannot end an address's local part: use ASCII "
                "letters, digits and characters such as - _ . + (no spaces, no @, no leading, "
                "trailing or doubled dot)",
                ("new_issue_address",),
            )
    labels = raw.get("labels")
    if isinstance(labels, list) and "new_issue_address" not in raw:
        yield Problem("labels apply to issues opened by mail: set new_issue_address too")
    seen: set[str] = set()
    for position, label in enumerate(labels if isinstance(labels, list) else []):
        if not isinstance(label, str) or not label:
            continue
        if not label.strip():
            yield Problem(f"labels entry {quoted(label)} is blank", ("labels", position))
        elif label.strip().lower() in seen:
            # GitHub's label names ignore case: "Bug" and "bug" are one label.
            yield Problem(
                f"labels lists {quoted(label.strip())} twice (label names ignore case)",
                ("labels", position),
            )
        seen.add(label.strip().lower())


def _credential_problems(raw: Mapping[str, Any]) -> Iterator[Problem]:
    secret, app = raw.get("token_secret"), raw.get("github_app")
    if "token_secret" in raw and "github_app" in raw:
        yield Problem(
            "name token_secret or github_app, not both: a route posts with one credential"
        )
    if isinstance(secret, str) and secret:
        yield from _secret_problems(("token_secret",), secret)
    if not isinstance(app, Mapping):
        return
    has_id, has_client = "app_id" in app, "client_id" in app
    if has_id and has_client:
        yield Problem(
            "github_app names both app_id and client_id: give one of them", ("github_app",)
        )
    elif not has_id and not has_client:
        yield Problem(
            "github_app needs app_id or client_id (both are on the app's settings page; "
            "GitHub recommends the client id)",
            ("github_app",),
        )
    client = app.get("client_id")
    if isinstance(client, str) and client and not _CLIENT_ID.fullmatch(client.strip()):
        yield Problem(
            f"github_app.client_id {quoted(client)} is not a GitHub App client id "
            "(letters, digits and dots, e.g. Iv23liAbCdEf01234567)",
            ("github_app", "client_id"),
        )
    key = app.get("private_key_secret")
    if isinstance(key, str) and key:
        yield from _secret_problems(("github_app", "private_key_secret"), key)


def _secret_problems(path: tuple[str, ...], value: str) -> Iterator[Problem]:
    key, text = ".".join(path), value.strip()
    if text.startswith("arn:"):
        if not _SECRET_ARN.fullmatch(text):
            yield Problem(
                f"{key} {quoted(value)} is not a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)",
                path,
            )
    elif not _SECRET_NAME.fullmatch(text):
        yield Problem(
            f"{key} {quoted(value)} is not a Secrets Manager secret name (letters, digits and "
            "/_+=.@- only) or ARN",
            path,
        )


def _api_url_problems(value: str) -> Iterator[str]:
    text = quoted(value)
    try:
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        parts, host = urlsplit(""), ""
    if parts.scheme not in {"https", "http"} or not host:
        yield f"api_url {text} is not an https:// URL (e.g. https://github.example.com/api/v3)"
    elif parts.scheme == "http" and host not in _LOOPBACK:
        yield f"api_url {text} must use https: the token would cross the network in clear"
    elif parts.username is not None or parts.password is not None:
        yield f"api_url {text} holds credentials: name them with token_secret or github_app"
    elif parts.query or parts.fragment:
        yield f"api_url {text} has a query or fragment: give the API's base URL only"
    elif host in {"github.com", "www.github.com"}:
        yield (
            f"api_url {text} is github.com's web site: its API is "
            "https://api.github.com, the default (leave api_url out)"
        )
    elif parts.path.strip("/") == "" and not host.startswith("api."):
        yield (
            f"api_url {text} lacks the API's path: GitHub Enterprise Server's REST API "
            f"is at {parts.scheme}://{parts.netloc}/api/v3"
        )


def duration(text: str) -> int | None:
    """``text`` ("7d", "36h") in seconds, or None when it is not a duration."""
    found = _DURATION.fullmatch(text.strip())
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)] if found else None


def max_age(raw: Mapping[str, Any]) -> int:
    """The route's max_age in seconds (DEFAULT_MAX_AGE without one); only called for a route
    without problems."""
    seconds = duration(raw.get("max_age", ""))
    return DEFAULT_MAX_AGE if seconds is None else seconds


def _max_age_problems(value: str) -> Iterator[str]:
    seconds = duration(value)
    if seconds is None:
        yield (
            f"max_age {quoted(value)} is not a duration: write a whole number of hours or days, "
            "e.g. 36h or 7d"
        )
    elif seconds < MIN_MAX_AGE:
        yield f"max_age {quoted(value)} is too short: at least 1h"
    elif seconds > MAX_MAX_AGE:
        yield f"max_age {quoted(value)} is too long: at most 365d"


def credential(raw: Mapping[str, Any]) -> Credential | None:
    """The route's credential; only called for a route without problems."""
    if "token_secret" in raw:
        return TokenSecret(raw["token_secret"].strip())
    app = raw.get("github_app")
    if app is None:
        return None
    issuer = str(app["app_id"]) if "app_id" in app else app["client_id"].strip()
    return GitHubApp(issuer, app["installation_id"], app["private_key_secret"].strip())


def api_url(value: str) -> str:
    """An api_url in the form requests are made with: no trailing slash."""
    return value.strip().rstrip("/")


def _domain_hint(domain: str) -> str:
    text = domain.strip()
    if "@" in text or "://" in text or "/" in text:
        return ": write the domain alone, e.g. issues.example.com"
    if text.startswith("[") or text.replace(".", "").isdigit() or ":" in text:
        return ": IP addresses are not accepted"
    return domain_problem(text)


def cc_domains(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """The domains a valid route's ``cc_participants`` list lets join besides its
    allowed_senders, in normal form; none for true or false."""
    widened = raw.get("cc_participants")
    if not isinstance(widened, list):
        return ()
    return tuple(sender_entry(entry)[0] for entry in widened)


# Cached: a large routes file lists the same sender domains route after route.
@lru_cache(maxsize=4096)
def sender_entry(entry: str) -> tuple[str, str | None]:
    """The allowed_senders entry in normal form, and what is wrong with it (None when
    nothing)."""
    text = entry.strip()
    wildcard = text.startswith("*.")
    base = normalize_domain(text[2:] if wildcard else text)
    if base is not None:
        return (f"*.{base}" if wildcard else base), None
    if text == "*":
        hint = "a lone * would let anyone post; write *.example.org for one domain's subdomains"
    elif "@" in text:
        hint = "list the domain only, e.g. example.com, not an address"
    elif wildcard and "." not in text[2:].strip(".") and "*" not in text[2:]:
        hint = "a wildcard must name a domain below a top-level domain, e.g. *.example.org"
    elif "*" in text:
        hint = "a wildcard is written *.example.org and matches its subdomains only"
    else:
        hint = "expected a domain such as example.com or *.example.org"
    return text, f"{quoted(entry)} is not a sender domain: {hint}"
