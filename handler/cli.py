"""Command line: ``python -m handler check|dispatch``.

``dispatch`` runs stored mails through exactly the pipeline the Lambda runs. Exit status:
0 every mail got a decision (a rejection is a decision); 1 a mail could not be read or a
post failed for a reason worth retrying; 2 the command itself cannot run (bad routes file,
no token, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from handler import __version__
from handler.github import GitHubClient
from handler.pipeline import Commenter, Decision, deliver, plan
from handler.routes import Routes, RoutesError, load_routes

DEFAULT_ROUTES = "routes.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args.routes)
    return _dispatch(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m handler",
        description="Route mail received by Amazon SES to GitHub issue comments.",
    )
    parser.add_argument("--version", action="version", version=f"ticket-router {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate a routes file")
    check.add_argument("routes", nargs="?", default=DEFAULT_ROUTES, help="default: %(default)s")

    dispatch = commands.add_parser(
        "dispatch", help="process stored mails (.eml) as the Lambda would"
    )
    dispatch.add_argument("--routes", default=DEFAULT_ROUTES, help="default: %(default)s")
    dispatch.add_argument(
        "--recipient",
        action="append",
        default=[],
        metavar="ADDR",
        help="envelope recipient (repeatable); default: SES's recipients, else To and Cc",
    )
    dispatch.add_argument(
        "--dry-run", action="store_true", help="decide and render only: no token, no network"
    )
    dispatch.add_argument("--json", action="store_true", help="one JSON object per decision")
    dispatch.add_argument("files", nargs="+", metavar="FILE.eml", help="'-' reads standard input")
    return parser


def _check(path: str) -> int:
    try:
        routes = load_routes(path)
    except RoutesError as error:
        for message in error.errors:
            print(message, file=sys.stderr)
        return 1
    print(f"{path}: valid, {len(routes.routes)} routes for {len(routes.domains)} domains")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    try:
        routes = load_routes(args.routes)
    except RoutesError as error:
        for message in error.errors:
            print(message, file=sys.stderr)
        return 2
    commenter: Commenter | None = None
    if not args.dry_run:
        token = os.environ.get("GITHUB_TOKEN", "").strip()
        if not token:
            print(
                "GITHUB_TOKEN is not set: export a token that may comment on the routed "
                "repositories, or use --dry-run",
                file=sys.stderr,
            )
            return 2
        api_url = os.environ.get("GITHUB_API_URL") or "https://api.github.com"
        commenter = GitHubClient(token, api_url=api_url)

    status = 0
    for name in args.files:
        try:
            raw = _read(name)
        except OSError as error:
            print(f"{name}: cannot read: {error.strerror or error}", file=sys.stderr)
            status = 1
            continue
        decisions = _run(raw, routes, args.recipient, commenter)
        for decision in decisions:
            if decision.retryable:
                status = 1
            _print(name, decision, as_json=args.json, dry_run=args.dry_run, out=sys.stdout)
    return status


def _run(
    raw: bytes, routes: Routes, recipients: Sequence[str], commenter: Commenter | None
) -> tuple[Decision, ...]:
    decisions = plan(raw, routes, recipients=recipients).decisions
    return decisions if commenter is None else deliver(decisions, commenter)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def _print(name: str, decision: Decision, *, as_json: bool, dry_run: bool, out: TextIO) -> None:
    if as_json:
        record = {
            "file": name,
            "recipient": decision.recipient,
            "action": decision.action,
            "repo": decision.repo,
            "issue": decision.issue,
            "body": decision.body,
            "reason": decision.reason,
            "detail": decision.detail,
            "url": decision.url,
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    target = f"{decision.repo}#{decision.issue}" if decision.repo else "-"
    recipient = decision.recipient or "(no recipient)"
    if decision.action == "comment":
        verb = "would comment on" if dry_run else "commented on"
        out.write(f"{name} -> {recipient}: {verb} {target}")
        out.write(f" {decision.url}\n" if decision.url else "\n")
        for line in (decision.body or "").split("\n"):
            out.write(f"    | {line}\n")
    else:
        out.write(f"{name} -> {recipient}: rejected ({decision.reason}) {target}\n")
        out.write(f"    {decision.detail}\n")
    out.write("\n")
