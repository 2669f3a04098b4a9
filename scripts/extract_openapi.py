"""Extract the one GitHub operation we call from GitHub's official OpenAPI description.

The description ships in the npm package @octokit/openapi; the excerpt is committed as
tests/github/issues-create-comment.openapi.json so that the tests check our requests against what
GitHub documents without a 10 MB file or network access. Re-run after bumping the version:

    npm pack @octokit/openapi@23.0.2 --pack-destination /tmp
    tar xzf /tmp/octokit-openapi-23.0.2.tgz -C /tmp
    python scripts/extract_openapi.py /tmp/package/generated \
        > tests/github/issues-create-comment.openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PATH = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


def extract(generated: Path) -> dict[str, object]:
    cloud = json.loads((generated / "api.github.com.deref.json").read_text(encoding="utf-8"))
    enterprise_files = sorted(generated.glob("ghes-*.deref.json"))
    enterprise = json.loads(enterprise_files[-1].read_text(encoding="utf-8"))
    operation = cloud["paths"][PATH]["post"]
    created = operation["responses"]["201"]["content"]["application/json"]
    return {
        "source": f"@octokit/openapi {cloud['info']['version']}",
        "path": PATH,
        "method": "post",
        "servers": {
            "api.github.com": cloud["servers"][0]["url"],
            enterprise_files[-1].name.removesuffix(".deref.json"): enterprise["servers"][0],
        },
        "operationId": operation["operationId"],
        "externalDocs": operation["externalDocs"]["url"],
        "parameters": operation["parameters"],
        "requestBody": operation["requestBody"]["content"]["application/json"]["schema"],
        "responses": {
            code: response.get("description", "")
            for code, response in operation["responses"].items()
        },
        "response201": {
            "schema": created["schema"],
            "example": created["examples"]["default"]["value"],
        },
    }


if __name__ == "__main__":
    json.dump(extract(Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
