"""The outbox's reactions (handler.outbound.reach.Reactions: ``rocket``, ``confused``) with each
route's GitHub client: its own credential, and the rate limit its comments share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handler.deadline import Deadline
    from handler.github.client import GitHubClient
    from handler.routing import Route


class RouteReactions:
    """Reactions set with the client of the route given (handler.github.credentials.GitHubClients:
    its login, under its credential's rate limit)."""

    def __init__(self, github: Callable[[Route, Deadline], GitHubClient]) -> None:
        self._github = github

    def react(
        self,
        route: Route,
        repo: str,
        comment_id: int,
        content: str,
        deadline: Deadline,
    ) -> bool:
        return self._github(route, deadline).react(repo, comment_id, content)
