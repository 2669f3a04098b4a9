"""Which repository and issue an address names, and who may write there: ``routes.yaml``,
validated once at load, and the lookup over it."""

from handler.routing.errors import RoutesError, RoutesUnreadable
from handler.routing.load import load_routes, parse_routes, routes_json
from handler.routing.model import (
    GITHUB_LOGIN,
    MAX_ISSUE_NUMBER,
    REPO_FULL_NAME,
    GitHubApp,
    Miss,
    NewIssue,
    Route,
    Routes,
    Target,
    TokenSecret,
    Unsubscribe,
    may_join,
    may_read,
    sender_allowed,
)

__all__ = [
    "GITHUB_LOGIN",
    "MAX_ISSUE_NUMBER",
    "REPO_FULL_NAME",
    "GitHubApp",
    "Miss",
    "NewIssue",
    "Route",
    "Routes",
    "RoutesError",
    "RoutesUnreadable",
    "Target",
    "TokenSecret",
    "Unsubscribe",
    "load_routes",
    "may_join",
    "may_read",
    "parse_routes",
    "routes_json",
    "sender_allowed",
]
