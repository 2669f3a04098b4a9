"""Extract the one GitHub operation we call from GitHub's official OpenAPI description.

The description ships in the npm package @octokit/openapi; the excerpt is committed as
tests/github/issues-create-comment.openapi.json so that the tests check our requests against what
GitHub documents without a 10 MB file or network access. It reads the ``*.deref.json`` files,
in which every ``$ref`` is already resolved, so the excerpt stands alone.

Extracted from @octokit/openapi 23.0.2. Re-run after bumping the version:

    npm pack @octokit/openapi@23.0.2 --pack-destination /tmp
    tar xzf /tmp/octokit-openapi-23.0.2.tgz -C /tmp
    python scripts/extract_openapi.py /tmp/package/generated \
        > tests/github/issues-create-comment.openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PATH = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


def extract(generated: Path) -> dict[str, object]:
    cloud = json.loads((generated / "api.github.com.deref.json").read_text(encoding="utf-8"))
    # The newest Enterprise Server release, compared as numbers: "3.9" is older than "3.19".
    newest = max(
        generated.glob("ghes-*.deref.json"),
        key=lambda path: tuple(int(n) for n in path.name[5:].split(".")[:2]),
    )
    enterprise = json.loads(newest.read_text(encoding="utf-8"))
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


def _summary(response: dict[str, Any]) -> dict[str, Any]:
    """An error response's description and the schema of its JSON body, when it has one."""
    summary: dict[str, Any] = {"description": response.get("description", "")}
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        summary["schema"] = schema
    return summary


if __name__ == "__main__":
    json.dump(extract(Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
