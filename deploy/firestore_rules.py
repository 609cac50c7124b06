"""Deploys Firestore security rules through the Firebase Rules API (gcloud has no command for
it), only when the released rules differ from the file.

    gcloud auth print-access-token | python -m deploy.firestore_rules \\
        --project P --rules deploy/firestore.rules

The access token comes on standard input, never as an argument. Prints one line: `unchanged`,
`released` (first rules) or `updated`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import requests

API_ENV = "BYTECLIPS_FIREBASERULES_API"  # a local fake in tests
DEFAULT_API = "https://firebaserules.googleapis.com"
RELEASE = "cloud.firestore"  # the (default) database's rules
TIMEOUT = 30.0


class RulesApiError(Exception):
    pass


class RulesApi:
    def __init__(self, session: requests.Session, project: str, base: str = DEFAULT_API) -> None:
        self._session = session
        self._project = project
        self._base = base.rstrip("/")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._session.request(
            method, f"{self._base}/v1/{path}", json=body, timeout=TIMEOUT
        )
        if response.status_code == 404 and method == "GET":
            return None
        if not response.ok:
            try:
                why = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                why = response.reason
            raise RulesApiError(f"{method} {path}: HTTP {response.status_code}: {why}")
        return response.json()

    @property
    def release_name(self) -> str:
        return f"projects/{self._project}/releases/{RELEASE}"

    def released_source(self) -> tuple[bool, list[str]]:
        """Whether the release exists, and the rules files' contents it points at."""
        release = self._call("GET", self.release_name)
        if release is None:
            return False, []
        ruleset = self._call("GET", release["rulesetName"]) or {}
        files = (ruleset.get("source") or {}).get("files") or []
        return True, [str(f.get("content", "")) for f in files]

    def release(self, source: str) -> str:
        exists, current = self.released_source()
        if exists and current == [source]:
            return "unchanged"
        ruleset = self._call(
            "POST",
            f"projects/{self._project}/rulesets",
            {"source": {"files": [{"name": "firestore.rules", "content": source}]}},
        )
        release = {"name": self.release_name, "rulesetName": ruleset["name"]}
        if exists:
            self._call("PATCH", self.release_name, {"release": release})
            return "updated"
        self._call("POST", f"projects/{self._project}/releases", release)
        return "released"


def session_for(token: str, project: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    # User credentials need a quota project for this API.
    session.headers["x-goog-user-project"] = project
    return session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.firestore_rules")
    parser.add_argument("--project", required=True)
    parser.add_argument("--rules", type=Path, required=True)
    args = parser.parse_args(argv)
    token = sys.stdin.readline().strip()
    if not token:
        print("firestore rules: no access token on standard input", file=sys.stderr)
        return 2
    api = RulesApi(
        session_for(token, args.project),
        args.project,
        os.environ.get(API_ENV) or DEFAULT_API,
    )
    try:
        print(api.release(args.rules.read_text(encoding="utf-8")))
    except (RulesApiError, requests.RequestException) as error:
        print(f"firestore rules: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
