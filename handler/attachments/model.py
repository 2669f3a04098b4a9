"""The values of the attachments concern: a route's settings, each file's plan (stored, and
where, or listed, and why) and where a stored file lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal
from urllib.parse import quote

# The branch files are committed to, unless a route names another.
DEFAULT_BRANCH = "ticket-router-attachments"
# Types stored unless a route lists its own: screenshots, documents and the text of logs and
# patches. Nothing a browser runs (HTML, SVG), nothing executable, no Office macros.
DEFAULT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "text/x-diff",
    "text/x-patch",
    "application/json",
    "application/zip",
    "application/gzip",
)
MB = 1024 * 1024
DEFAULT_MAX_FILE_SIZE = 10 * MB
DEFAULT_MAX_MAIL_SIZE = 25 * MB
DEFAULT_MAX_FILES = 20

Mode = Literal["list", "link"]
Storage = Literal["github", "s3"]


@dataclass(frozen=True)
class AttachmentSettings:
    """A route's ``attachments``: list them (as ever) or link them, and where and which."""

    mode: Mode = "list"
    storage: Storage = "github"
    # GitHub storage: the repository files are committed to (None: the route's own) and branch.
    repository: str | None = None
    branch: str = DEFAULT_BRANCH
    # Content types stored (lowercase type/subtype); the others are listed.
    types: tuple[str, ...] = DEFAULT_TYPES
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_mail_size: int = DEFAULT_MAX_MAIL_SIZE
    max_files: int = DEFAULT_MAX_FILES
    # Days a stored file is kept; None keeps it as long as the issue.
    retention_days: int | None = None


class FileReason(StrEnum):
    """Why a file of a mail on a linking route is listed rather than linked (docs/attachments.md).
    Its code is what the comment and the logs say."""

    _value_: str
    meaning: str

    def __new__(cls, code: str, meaning: str = "") -> FileReason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    NOT_SCANNED = (
        "not-scanned",
        "SES did not say the mail is free of viruses (virus verdict not PASS, or scanning off)",
    )
    TYPE_NOT_ALLOWED = "type-not-allowed", "its type is not among the route's types"
    TYPE_MISMATCH = "type-mismatch", "its content is not what its type or name says"
    EXECUTABLE = "executable", "it is a program or a script"
    EMPTY = "empty", "it has no content"
    FILE_TOO_LARGE = "file-too-large", "it is larger than the route's max_file_size"
    MAIL_TOO_LARGE = "mail-too-large", "with it the mail's files pass the route's max_mail_size"
    TOO_MANY_FILES = "too-many-files", "the mail has more files than the route's max_files"
    UNREADABLE = "unreadable", "its content cannot be read out of the mail"
    NO_STORAGE = "no-storage", "the route stores in S3 and the deployment has no attachments bucket"
    WIDER_ACCESS = (
        "wider-access",
        "where the route stores files, more people could read it than can read the issue",
    )
    NOT_STORED = "not-stored", "the store refused it (the detail says why)"


@dataclass(frozen=True)
class GitHubPlace:
    """A file committed to ``branch`` of ``repo`` at ``path``; ``web`` is the GitHub host's web
    address (https://github.com, or an Enterprise Server's)."""

    web: str
    repo: str
    branch: str
    path: str

    @property
    def url(self) -> str:
        """The page a reader opens (GitHub's viewer, with its download button)."""
        return f"{self.web}/{self.repo}/blob/{quote(self.branch)}/{quote(self.path)}"

    @property
    def image_url(self) -> str:
        """The file itself, as an image in a comment shows it (to the repository's readers)."""
        return f"{self.web}/{self.repo}/raw/{quote(self.branch)}/{quote(self.path)}"


@dataclass(frozen=True)
class S3Place:
    """An object of the deployment's attachments bucket, served at ``base``/``key``."""

    base: str
    key: str

    @property
    def url(self) -> str:
        return f"{self.base}/{quote(self.key)}"

    @property
    def image_url(self) -> str:
        return self.url


Place = GitHubPlace | S3Place


@dataclass(frozen=True)
class StoredFile:
    """A file to store (or stored): the ``index``-th of Message.attachments."""

    index: int
    # The sanitised name it is stored and served under.
    name: str
    # The type it is stored and served as.
    content_type: str
    # Shown as an image in the comment (a raster image whose content says so).
    inline: bool
    place: Place
    content: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class ListedFile:
    """A file listed by name, type and size only, and why: the ``index``-th attachment."""

    index: int
    reason: FileReason
    # For people: "12.3 MB; the route stores files up to 10.0 MB".
    detail: str


FilePlan = StoredFile | ListedFile


@dataclass(frozen=True)
class Deployment:
    """What the plan must know of the deployment to say where a file goes."""

    # The web host of the deployment's GitHub API (a route's api_url names its own).
    github_web: str = "https://github.com"
    # The attachments bucket's public base URL (CloudFront), "" when none is deployed.
    s3_base: str = ""
