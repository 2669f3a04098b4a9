"""Which files of a posted mail are stored, under which name and where, and why the others are
only listed: the judgement made when the mail is planned, before anything is stored. Pure.

The rules apply in this order, the first that applies wins: the mail's virus verdict, the
route's storage, then file by file in the mail's order (docs/attachments.md lists the reasons).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from handler.attachments.layout import github_path, s3_key, web_host
from handler.attachments.model import (
    AttachmentSettings,
    Deployment,
    FilePlan,
    FileReason,
    GitHubPlace,
    ListedFile,
    Place,
    S3Place,
    StoredFile,
)
from handler.attachments.names import (
    PROGRAM_EXTENSIONS,
    PROGRAM_TYPES,
    UNTYPED,
    UniqueNames,
    extension,
    safe_name,
    type_of_name,
)
from handler.attachments.sniff import RASTER_TYPES, contradicts, described, program, sniffed_type


class FileFacts(Protocol):
    """What the mail says of a file (handler.inbound.attachments.Attachment fits)."""

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def size(self) -> int: ...


def plan_files(
    files: Sequence[FileFacts],
    contents: Mapping[int, bytes],
    *,
    settings: AttachmentSettings,
    repo: str,
    mail: str,
    virus: str | None,
    received_at: float | None,
    api_url: str | None,
    deployment: Deployment,
) -> tuple[FilePlan, ...]:
    """Each of ``files`` (``contents``: their decoded bytes by index, none for a file that
    cannot be read) stored or listed, in order, for a mail (key ``mail``) posted to ``repo``."""
    if virus != "PASS":
        detail = "SES gave no virus verdict" if virus is None else f"SES's virus verdict is {virus}"
        return tuple(ListedFile(i, FileReason.NOT_SCANNED, detail) for i in range(len(files)))
    if settings.storage == "s3" and not deployment.s3_base:
        detail = "the route stores files in S3 and this deployment has no attachments bucket"
        return tuple(ListedFile(i, FileReason.NO_STORAGE, detail) for i in range(len(files)))
    web = web_host(api_url, deployment.github_web)

    def place(index: int, name: str, content: bytes) -> Place:
        if settings.storage == "s3":
            return S3Place(deployment.s3_base, s3_key(mail, index, content, name))
        path = github_path(mail, received_at, name)
        return GitHubPlace(web, settings.repository or repo, settings.branch, path)

    names = UniqueNames()
    plans: list[FilePlan] = []
    stored = total = 0
    for index, facts in enumerate(files):
        content = contents.get(index)
        if content is None:
            # A part the mail's parse does not hold (a file inside a winmail.dat).
            plans.append(
                ListedFile(
                    index, FileReason.UNREADABLE, "its content cannot be read out of the mail"
                )
            )
            continue
        judged = _judged(index, facts, content, settings)
        if isinstance(judged, ListedFile):
            plans.append(judged)
            continue
        content_type = judged
        if stored >= settings.max_files:
            plans.append(
                ListedFile(
                    index,
                    FileReason.TOO_MANY_FILES,
                    f"the route stores at most {settings.max_files} files of a mail",
                )
            )
            continue
        if total + len(content) > settings.max_mail_size:
            plans.append(
                ListedFile(
                    index,
                    FileReason.MAIL_TOO_LARGE,
                    f"with it the mail's files would be {human_size(total + len(content))}; "
                    f"the route stores up to {human_size(settings.max_mail_size)} of a mail",
                )
            )
            continue
        stored += 1
        total += len(content)
        name = names.take(safe_name(facts.filename, content_type))
        plans.append(
            StoredFile(
                index=index,
                name=name,
                content_type=content_type,
                inline=content_type in RASTER_TYPES,
                place=place(index, name, content),
                content=content,
            )
        )
    return tuple(plans)


def _judged(
    index: int, facts: FileFacts, content: bytes, settings: AttachmentSettings
) -> ListedFile | str:
    """Why the file is listed whatever the mail's other files are, or the type it is stored
    as if they leave room for it."""
    if not content:
        return ListedFile(index, FileReason.EMPTY, "it is empty (0 bytes)")
    if len(content) > settings.max_file_size:
        return ListedFile(
            index,
            FileReason.FILE_TOO_LARGE,
            f"{human_size(len(content))}; the route stores files up to "
            f"{human_size(settings.max_file_size)}",
        )
    declared = _bare(facts.content_type)
    content_type = effective_type(facts.filename, declared)
    why = _program(facts.filename, declared, content_type, content)
    if why is not None:
        return ListedFile(index, FileReason.EXECUTABLE, why)
    if content_type not in settings.types:
        return ListedFile(
            index, FileReason.TYPE_NOT_ALLOWED, f"{content_type} is not among the route's types"
        )
    if contradicts(content_type, content):
        sniffed = sniffed_type(content)
        found = f"{described(sniffed)}, not" if sniffed else "not"
        return ListedFile(
            index, FileReason.TYPE_MISMATCH, f"its content is {found} {described(content_type)}"
        )
    return content_type


def effective_type(filename: str, declared: str) -> str:
    """The type a file is judged as: as declared, unless the declaration says nothing
    (application/octet-stream, or none), when its name's extension says it (``.log``:
    text/plain); application/octet-stream when neither does."""
    if declared not in UNTYPED:
        return declared
    return type_of_name(filename) or "application/octet-stream"


def _program(filename: str, declared: str, content_type: str, content: bytes) -> str | None:
    """Why the file is a program or script (its bytes, name or type), None when it is none."""
    what = program(content)
    if what is not None:
        return f"its content is {what}"
    ending = extension(filename)
    if ending in PROGRAM_EXTENSIONS:
        return f"its name ends in {ending}, a program's"
    for each in (declared, content_type):
        if each in PROGRAM_TYPES:
            return f"its type {each} is a program's"
    return None


def _bare(content_type: str) -> str:
    """``text/plain`` of ``Text/Plain; charset=utf-8``."""
    return content_type.partition(";")[0].strip().lower()


def human_size(size: int) -> str:
    """``12.3 MB``: sizes as the comment writes them (1 KB = 1,024 bytes)."""
    if size < 1024:
        return "1 byte" if size == 1 else f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
