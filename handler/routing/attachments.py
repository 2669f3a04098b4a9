"""A route's ``attachments``: ``list`` (the default), ``link``, or a mapping of the settings, read
into AttachmentSettings, and what the JSON Schema cannot see in it. Pure.

A setting the mapping leaves out takes its default (handler.attachments.model), not the value
of a ``defaults:`` mapping: a route's own ``attachments`` replaces the default's whole, as every
route key does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

from handler.attachments.model import MB, AttachmentSettings, Mode, Storage
from handler.attachments.names import PROGRAM_TYPES
from handler.routing.model import REPO_FULL_NAME, quoted

KEY = "attachments"
# A problem: the key path within the route, and the message.
Found = tuple[tuple[str | int, ...], str]
_MODES: dict[str, Mode] = {"list": "list", "link": "link"}
_STORAGES: dict[str, Storage] = {"github": "github", "s3": "s3"}
# GitHub storage commits each file through the contents API, whose requests carry the file
# base64-encoded; GitHub's web interface stops at 25 MB a file, and so does a route.
MAX_GITHUB_FILE_SIZE = 25 * MB
# A size: a number of bytes, or of KB or MB (1 KB = 1,024 bytes), e.g. 10MB, 500KB, 1.5MB.
_SIZE = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,6}))?\s*(kb|mb)?", re.IGNORECASE)
_UNITS = {"": 1, "kb": 1024, "mb": MB}
# A media type as RFC 6838 names it (type/subtype), lowercase.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# What git check-ref-format refuses in a branch name: ASCII controls, space ~ ^ : ? * [ \, "..",
# "@{", "//", a component starting with "." or ending with ".lock", a leading "-" or "/", a
# trailing "/" or ".".
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|(?:^|/)\.|\.lock(?:/|$)|^[-/]|[/.]$")
# GitHub refuses longer ref names.
_MAX_BRANCH = 255


def size(value: object) -> int | None:
    """``value`` (``10MB``, ``500KB``, ``1.5MB``, or bytes as a number or text) in bytes; None
    when it is not a size."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    found = _SIZE.fullmatch(value.strip())
    if found is None:
        return None
    whole, fraction, unit = found.group(1), found.group(2), (found.group(3) or "").lower()
    if fraction is not None and not unit:
        return None
    return int(Fraction(f"{whole}.{fraction or 0}") * _UNITS[unit])


def written_size(value: int) -> str:
    """``10MB`` for 10 MB: sizes in messages as a routes file writes them."""
    for unit, factor in (("MB", MB), ("KB", 1024)):
        if value >= factor and value % factor == 0:
            return f"{value // factor}{unit}"
    return f"{value} bytes"


def attachment_problems(raw: Mapping[str, Any]) -> Iterator[Found]:
    """What is wrong in the route's ``attachments`` (key path and message), for values of the
    types the schema asks for."""
    value = raw.get(KEY)
    if isinstance(value, str):
        if value not in _MODES:
            yield (
                (KEY,),
                (
                    f"{KEY} {quoted(value)} is neither list nor link: write list, link or a "
                    "mapping such as {mode: link, storage: github}"
                ),
            )
        return
    if not isinstance(value, Mapping):
        return
    storage = value.get("storage", "github")
    if storage == "s3":
        for key in ("repository", "branch"):
            if key in value:
                yield (
                    (KEY, key),
                    (
                        f"{KEY}.{key} is for github storage: storage s3 puts files in the "
                        "deployment's attachments bucket"
                    ),
                )
    repository, branch = value.get("repository"), value.get("branch")
    if isinstance(repository, str) and repository:
        yield from _repository_problems(repository)
    if isinstance(branch, str) and branch:
        yield from _branch_problems(branch)
    yield from _type_problems(value.get("types"))
    yield from _size_problems(value, storage)


def _repository_problems(repository: str) -> Iterator[Found]:
    name, written = repository.strip().partition("/")[2], quoted(repository)
    if not REPO_FULL_NAME.fullmatch(repository.strip()) or name in {".", ".."}:
        message = "is not of the form owner/name (e.g. example-org/attachments)"
        yield (KEY, "repository"), f"{KEY}.repository {written} {message}"
    elif name.lower().endswith(".git"):
        message = "ends in .git: write owner/name without it"
        yield (KEY, "repository"), f"{KEY}.repository {written} {message}"


def _branch_problems(branch: str) -> Iterator[Found]:
    text = branch.strip()
    if _BAD_REF.search(text) or text in {"@", "HEAD"}:
        yield (
            (KEY, "branch"),
            (
                f"{KEY}.branch {quoted(branch)} is not a valid branch name: no spaces, no "
                "~ ^ : ? * [ \\ or .., no part starting with . or ending in .lock "
                "(git check-ref-format)"
            ),
        )
    elif len(text.encode()) > _MAX_BRANCH:
        yield (KEY, "branch"), f"{KEY}.branch is too long: at most {_MAX_BRANCH} bytes"


def _type_problems(types: object) -> Iterator[Found]:
    seen: set[str] = set()
    for position, entry in enumerate(types if isinstance(types, list) else []):
        if not isinstance(entry, str) or not entry:
            continue
        text = entry.strip()
        if "*" in text:
            problem = "lists no one type: write each (image/png, image/jpeg), not wildcards"
        elif not _MEDIA_TYPE.fullmatch(text.lower()):
            problem = "is not a media type such as image/png"
        elif text != text.lower():
            problem = f"is not lowercase: write {text.lower()}"
        elif text in PROGRAM_TYPES:
            problem = "is the type of programs or scripts, which are never stored"
        elif text in seen:
            problem = "is listed twice"
        else:
            problem = ""
        if problem:
            yield (KEY, "types", position), f"{KEY}.types entry {quoted(entry)} {problem}"
        seen.add(text)


def _size_problems(value: Mapping[str, Any], storage: object) -> Iterator[Found]:
    sizes: dict[str, int] = {}
    defaults = AttachmentSettings()
    for key in ("max_file_size", "max_mail_size"):
        written = value.get(key)
        if written is None:
            sizes[key] = getattr(defaults, key)
            continue
        if isinstance(written, bool) or not isinstance(written, int | str):
            # The schema's error says what is wrong; the sizes cannot be compared.
            return
        found, text = size(written), quoted(str(written))
        if found is None:
            hint = "write e.g. 10MB, 500KB, 1.5MB or a number of bytes"
            yield (KEY, key), f"{KEY}.{key} {text} is not a size: {hint}"
            return
        if found < 1:
            # A number's minimum is the schema's to report.
            if isinstance(written, str):
                yield (KEY, key), f"{KEY}.{key} must be at least 1 byte, not {text}"
            return
        sizes[key] = found
    file_size, mail_size = sizes["max_file_size"], sizes["max_mail_size"]
    if storage == "github" and file_size > MAX_GITHUB_FILE_SIZE:
        yield (
            (KEY, "max_file_size"),
            (
                f"{KEY}.max_file_size {written_size(file_size)} is too large for github storage: "
                f"at most {written_size(MAX_GITHUB_FILE_SIZE)}"
            ),
        )
    elif file_size > mail_size:
        mail = written_size(mail_size) + ("" if "max_mail_size" in value else ", the default")
        yield (
            (KEY, "max_file_size"),
            (
                f"{KEY}.max_file_size {written_size(file_size)} is larger than "
                f"{KEY}.max_mail_size ({mail}): no file that large could be stored"
            ),
        )


def attachment_settings(raw: Mapping[str, Any]) -> AttachmentSettings:
    """The route's settings; only called for a route without problems."""
    value = raw.get(KEY)
    if value is None:
        return AttachmentSettings()
    if isinstance(value, str):
        return AttachmentSettings(mode=_MODES[value])
    defaults = AttachmentSettings()
    repository = value.get("repository")
    retention = value.get("retention_days")
    return AttachmentSettings(
        mode=_MODES[value.get("mode", defaults.mode)],
        storage=_STORAGES[value.get("storage", defaults.storage)],
        repository=repository.strip() if repository is not None else None,
        branch=value.get("branch", defaults.branch).strip(),
        types=tuple(entry.strip() for entry in value.get("types", defaults.types)),
        max_file_size=_size_or(value.get("max_file_size"), defaults.max_file_size),
        max_mail_size=_size_or(value.get("max_mail_size"), defaults.max_mail_size),
        max_files=value.get("max_files", defaults.max_files),
        retention_days=retention,
    )


def _size_or(value: object, default: int) -> int:
    found = size(value) if value is not None else None
    return default if found is None else found
