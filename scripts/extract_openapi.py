"""Extract the GitHub operations we call from GitHub's official OpenAPI description.

The description ships in the npm package @octokit/openapi; the excerpts are committed under
tests/github/ so that the tests check our requests against what GitHub documents without a 10 MB
file or network access. It reads the ``*.deref.json`` files, in which every ``$ref`` is already
resolved, so each excerpt stands alone.

- ``comment`` (the default): issues/create-comment, whole, as
  tests/github/issues-create-comment.openapi.json.
- ``issues``: issues/create and issues/list-for-repo, trimmed to what the tests use (parameters,
  the request body schema, the documented statuses, and of the 57 kB issue schema only the
  fields the client reads), as tests/github/issues-create.openapi.json.

Extracted from @octokit/openapi 23.0.2. Re-run after bumping the version:

    npm pack @octokit/openapi@23.0.2 --pack-destination /tmp
    tar xzf /tmp/octokit-openapi-23.0.2.tgz -C /tmp
    python scripts/extract_openapi.py /tmp/package/generated \
        > tests/github/issues-create-comment.openapi.json
    python scripts/extract_openapi.py /tmp/package/generated issues \
        > tests/github/issues-create.openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PATH = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
ISSUES_PATH = "/repos/{owner}/{repo}/issues"
# The fields of an issue the client reads: the number and page to tell the sender, the body
# carrying the mail's marker, and the key that marks a pull request in the issues list.
ISSUE_FIELDS = ("number", "html_url", "body", "pull_request")
# Also kept in the examples, to serve an answer that reads like GitHub's.
EXAMPLE_FIELDS = ("id", "number", "html_url", "title", "body", "state", "labels", "pull_request")


def extract(generated: Path) -> dict[str, object]:
    cloud, (newest, enterprise) = _load(generated)
    operation = cloud["paths"][PATH]["post"]
    created = operation["responses"]["201"]["content"]["application/json"]
    return {
        "source": f"@octokit/openapi {cloud['info']['version']}",
        "path": PATH,
        "method": "post",
        "servers": {
            "api.github.com": cloud["servers"][0]["url"],
            newest.name.removesuffix(".deref.json"): enterprise["servers"][0],
        },
        "operationId": operation["operationId"],
        "externalDocs": operation["externalDocs"]["url"],
        "parameters": operation["parameters"],
        "requestBody": operation["requestBody"]["content"]["application/json"]["schema"],
        "responses": {
            code: _summary(response) if code != "201" else {"description": response["description"]}
            for code, response in operation["responses"].items()
        },
        "response201": {
            "schema": created["schema"],
            "example": created["examples"]["default"]["value"],
        },
    }


def extract_issues(generated: Path) -> dict[str, object]:
    cloud, (newest, enterprise) = _load(generated)
    create = cloud["paths"][ISSUES_PATH]["post"]
    listing = cloud["paths"][ISSUES_PATH]["get"]
    created = create["responses"]["201"]["content"]["application/json"]
    listed = listing["responses"]["200"]["content"]["application/json"]
    return {
        "source": f"@octokit/openapi {cloud['info']['version']}",
        "path": ISSUES_PATH,
        "servers": {
            "api.github.com": cloud["servers"][0]["url"],
            newest.name.removesuffix(".deref.json"): enterprise["servers"][0],
        },
        "enterprise_has_path": ISSUES_PATH in enterprise["paths"],
        "post": {
            "operationId": create["operationId"],
            "externalDocs": create["externalDocs"]["url"],
            "parameters": create["parameters"],
            "requestBody": create["requestBody"]["content"]["application/json"]["schema"],
            "responses": {
                code: _summary(r) if code != "201" else {"description": r["description"]}
                for code, r in create["responses"].items()
            },
        },
        "get": {
            "operationId": listing["operationId"],
            "externalDocs": listing["externalDocs"]["url"],
            "parameters": listing["parameters"],
            "responses": {
                code: {"description": r.get("description", "")}
                for code, r in listing["responses"].items()
            },
        },
        "issue": _trimmed(created["schema"], ISSUE_FIELDS),
        "list_item": _trimmed(listed["schema"]["items"], ISSUE_FIELDS),
        "example201": _picked(created["examples"]["default"]["value"], EXAMPLE_FIELDS),
        "example200": [
            _picked(item, EXAMPLE_FIELDS) for item in listed["examples"]["default"]["value"]
        ],
    }


def _load(generated: Path) -> tuple[dict[str, Any], tuple[Path, dict[str, Any]]]:
    """The github.com description, and the newest Enterprise Server one with its file."""
    cloud = json.loads((generated / "api.github.com.deref.json").read_text(encoding="utf-8"))
    # The newest Enterprise Server release, compared as numbers: "3.9" is older than "3.19".
    newest = max(
        generated.glob("ghes-*.deref.json"),
        key=lambda path: tuple(int(n) for n in path.name[5:].split(".")[:2]),
    )
    enterprise = json.loads(newest.read_text(encoding="utf-8"))
    return cloud, (newest, enterprise)


def _trimmed(schema: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """An object schema cut down to ``fields``, with those of them it requires."""
    return {
        "type": schema["type"],
        "properties": {name: schema["properties"][name] for name in fields},
        "required": [name for name in schema.get("required", []) if name in fields],
    }


def _picked(value: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: value[name] for name in fields if name in value}


def _summary(response: dict[str, Any]) -> dict[str, Any]:
    """An error response's description and the schema of its JSON body, when it has one."""
    summary: dict[str, Any] = {"description": response.get("description", "")}
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        summary["schema"] = schema
    return summary


if __name__ == "__main__":
    which = sys.argv[2] if len(sys.argv) > 2 else "comment"
    extractors = {"comment": extract, "issues": extract_issues}
    if which not in extractors:
        sys.exit(f"usage: extract_openapi.py GENERATED_DIR [{'|'.join(extractors)}]")
    json.dump(extractors[which](Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
