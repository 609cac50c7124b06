"""Stand-ins for what deploy.sh talks to, so it runs here without Google Cloud.

- `FakeCloud`: a recording `gcloud` on PATH. Each call appends its argv, its environment and
  what it read on stdin to a JSON-lines log, and answers from a small JSON world (APIs,
  database, indexes, TTLs, accounts, IAM policies, secrets, functions, images, services) that
  the mutating calls update, so a second run sees the first run's work.
- `FakeScheduler`: Cloud Scheduler's REST API (get, create, patch jobs) on loopback, for the
  google-cloud-scheduler client's REST transport.
- `FakeRules`: the Firebase Rules API (releases and rulesets) on loopback.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import parse_qs, urlsplit

from local.lifecycle import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
PROJECT_NUMBER = "123456789012"
ACCESS_TOKEN = "ya29.fake-access-token-for-tests"

# Verbs whose calls only read; everything else recorded counts as a change.
READ_VERBS = {"describe", "list", "get-iam-policy", "access", "print-access-token"}


def _flags(argv: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    words: list[str] = []
    flags: dict[str, list[str]] = {}
    for arg in argv:
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
            flags.setdefault(name, []).append(value)
        else:
            words.append(arg)
    return words, flags


def _policy_add(policies: dict[str, Any], resource: str, role: str, member: str) -> None:
    bindings = policies.setdefault(resource, {"bindings": []})["bindings"]
    for binding in bindings:
        if binding["role"] == role:
            if member not in binding["members"]:
                binding["members"].append(member)
            return
    bindings.append({"role": role, "members": [member]})


def _files(directory: str) -> dict[str, str]:
    """A source folder's files (text ones in full, others by size), as it was uploaded."""
    found = {}
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file():
            name = path.relative_to(directory).as_posix()
            try:
                found[name] = path.read_text(encoding="utf-8") if path.suffix != ".py" else ""
            except UnicodeDecodeError:
                found[name] = ""
    return found


class _Answer(Exception):
    def __init__(self, out: str = "", code: int = 0, raw: bytes | None = None) -> None:
        self.out, self.code, self.raw = out, code, raw


def _missing(what: str) -> _Answer:
    return _Answer(f"ERROR: (gcloud) NOT_FOUND: {what}", 1)


def gcloud_main() -> None:
    """The stand-in's body: `gcloud ARGS...` against the world in $FAKE_GCLOUD_WORLD."""
    argv = sys.argv[1:]
    world_path = Path(os.environ["FAKE_GCLOUD_WORLD"])
    world = json.loads(world_path.read_text()) if world_path.exists() else {}
    words, flags = _flags(argv)
    stdin = ""
    if flags.get("data-file") == ["-"]:
        stdin = sys.stdin.read()
    record: dict[str, Any] = {"argv": argv, "env": dict(os.environ), "stdin": stdin}
    try:
        _answer(world, words, flags, stdin, record)
        answer = _Answer()
    except _Answer as given:
        answer = given
    with open(os.environ["FAKE_GCLOUD_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
    world_path.write_text(json.dumps(world))
    if answer.raw is not None:
        sys.stdout.buffer.write(answer.raw)
    elif answer.code == 0 and answer.out:
        print(answer.out)
    elif answer.out:
        print(answer.out, file=sys.stderr)
    sys.exit(answer.code)


def _describe_listed(
    world: dict[str, Any], kind: str, name: str, answer: str | None = None
) -> NoReturn:
    """`describe` of something the world lists by name: `answer` (its name), or not found."""
    if name not in world.get(kind, []):
        raise _missing(name)
    raise _Answer(name if answer is None else answer)


def _run_service(name: str, one: dict[str, str], flags: dict[str, list[str]]) -> dict[str, Any]:
    """A deployed function or Cloud Run service: both are Cloud Run services behind a URL."""
    return {
        "labels": {"deploy_spec": one["update-labels"].split("=", 1)[1]},
        "url": f"https://{name}-{PROJECT_NUMBER}.{one['region']}.run.app",
        "flags": flags,
    }


def _describe_run_service(deployed: dict[str, Any], name: str, *, url_asked: bool) -> NoReturn:
    """Its URL when the format asks for it, else the label that names the deployed spec."""
    service = deployed.get(name)
    if service is None:
        raise _missing(name)
    if url_asked:
        raise _Answer(service["url"])
    raise _Answer(service["labels"].get("deploy_spec", ""))


def _answer(
    world: dict[str, Any],
    words: list[str],
    flags: dict[str, list[str]],
    stdin: str,
    record: dict[str, Any],
) -> None:
    fmt = (flags.get("format") or [""])[0]
    one = {name: values[-1] for name, values in flags.items()}
    policies = world.setdefault("policies", {})
    key = tuple(words[:3])
    if words[:2] == ["auth", "list"]:
        raise _Answer("deployer@example.com")
    if words[:2] == ["auth", "print-access-token"]:
        raise _Answer(ACCESS_TOKEN)
    if words[:2] == ["projects", "describe"]:
        raise _Answer(PROJECT_NUMBER)
    if words[:2] == ["services", "list"]:
        raise _Answer("\n".join(world.get("apis", [])))
    if words[:2] == ["services", "enable"]:
        world.setdefault("apis", []).extend(words[2:])
        return
    if key == ("firestore", "databases", "describe"):
        if "database" not in world:
            raise _missing("database")
        raise _Answer(f"{world['database']['type']}\t{world['database']['location']}")
    if key == ("firestore", "databases", "create"):
        world["database"] = {"type": "FIRESTORE_NATIVE", "location": one["location"]}
        return
    if words[:4] == ["firestore", "indexes", "composite", "list"]:
        raise _Answer(json.dumps(world.get("indexes", [])))
    if words[:4] == ["firestore", "indexes", "composite", "create"]:
        fields = []
        for config in flags["field-config"]:
            parts = dict(p.split("=", 1) for p in config.split(","))
            fields.append({"fieldPath": parts["field-path"], "order": parts["order"].upper()})
        group = one["collection-group"]
        world.setdefault("indexes", []).append(
            {
                "name": f"projects/p/databases/(default)/collectionGroups/{group}/indexes/"
                f"{uuid.uuid4().hex[:8]}",
                "queryScope": one["query-scope"],
                "fields": [*fields, {"fieldPath": "__name__", "order": fields[-1]["order"]}],
                "state": "READY",
            }
        )
        return
    if words[:4] == ["firestore", "fields", "ttls", "list"]:
        raise _Answer(json.dumps(world.get("ttls", [])))
    if words[:4] == ["firestore", "fields", "ttls", "update"]:
        name = f"projects/p/databases/(default)/collectionGroups/{one['collection-group']}"
        world.setdefault("ttls", []).append(
            {"name": f"{name}/fields/{words[4]}", "ttlConfig": {"state": "CREATING"}}
        )
        return
    if key == ("iam", "service-accounts", "describe"):
        _describe_listed(world, "accounts", words[3])
    if key == ("iam", "service-accounts", "create"):
        project = one["project"]
        world.setdefault("accounts", []).append(f"{words[3]}@{project}.iam.gserviceaccount.com")
        return
    if words[:2] == ["projects", "get-iam-policy"]:
        raise _Answer(json.dumps(policies.get("project", {"bindings": []})))
    if words[:2] == ["projects", "add-iam-policy-binding"]:
        _policy_add(policies, "project", one["role"], one["member"])
        return
    secrets = world.setdefault("secrets", {})
    if words[:2] == ["secrets", "describe"]:
        if words[2] not in secrets:
            raise _missing(words[2])
        raise _Answer(f"projects/{PROJECT_NUMBER}/secrets/{words[2]}")
    if words[:2] == ["secrets", "create"]:
        secrets[words[2]] = {"versions": [], "labels": one.get("labels", "")}
        return
    if key == ("secrets", "versions", "describe"):
        versions = secrets.get(one["secret"], {}).get("versions", [])
        if not versions:
            raise _missing(one["secret"])
        raise _Answer(f"projects/{PROJECT_NUMBER}/secrets/{one['secret']}/versions/{len(versions)}")
    if key == ("secrets", "versions", "access"):
        versions = secrets.get(one["secret"], {}).get("versions", [])
        if not versions:
            raise _missing(one["secret"])
        raise _Answer(raw=versions[-1].encode())
    if key == ("secrets", "versions", "add"):
        secrets[words[3]]["versions"].append(stdin)
        return
    if words[:2] == ["secrets", "get-iam-policy"]:
        raise _Answer(json.dumps(policies.get(f"secret/{words[2]}", {"bindings": []})))
    if words[:2] == ["secrets", "add-iam-policy-binding"]:
        _policy_add(policies, f"secret/{words[2]}", one["role"], one["member"])
        return
    functions = world.setdefault("functions", {})
    if words[:2] == ["functions", "describe"]:
        _describe_run_service(functions, words[2], url_asked="serviceConfig.uri" in fmt)
    if words[:2] == ["functions", "deploy"]:
        record["source_files"] = _files(one["source"])
        functions[words[2]] = _run_service(words[2], one, flags)
        return
    services = world.setdefault("services", {})
    if key == ("run", "services", "get-iam-policy"):
        raise _Answer(json.dumps(policies.get(f"run/{words[3]}", {"bindings": []})))
    if key == ("run", "services", "add-iam-policy-binding"):
        _policy_add(policies, f"run/{words[3]}", one["role"], one["member"])
        return
    if key == ("run", "services", "describe"):
        _describe_run_service(services, words[3], url_asked="status.url" in fmt)
    if words[:2] == ["run", "deploy"]:
        services[words[2]] = _run_service(words[2], one, flags)
        return
    if key == ("artifacts", "repositories", "describe"):
        _describe_listed(world, "repositories", words[3])
    if key == ("artifacts", "repositories", "create"):
        world.setdefault("repositories", []).append(words[3])
        return
    if words[:4] == ["artifacts", "docker", "images", "describe"]:
        _describe_listed(world, "images", words[4], answer="sha256:feed")
    if words[:2] == ["builds", "submit"]:
        record["source_files"] = _files(words[2])
        world.setdefault("images", []).append(one["tag"])
        return
    raise _Answer(f"fake gcloud: unscripted command {words} {sorted(flags)}", 3)


def is_change(argv: list[str]) -> bool:
    words = [a for a in argv if not a.startswith("-")]
    return not any(verb in READ_VERBS for verb in words[:4])


@dataclass
class FakeCloud:
    """A folder holding the stand-in `gcloud`, its world and its log."""

    home: Path

    def __post_init__(self) -> None:
        (self.home / "bin").mkdir(parents=True, exist_ok=True)
        script = self.home / "bin" / "gcloud"
        script.write_text(
            f"#!{sys.executable}\n"
            "import sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from tests.deploy_fakes import gcloud_main\n"
            "gcloud_main()\n"
        )
        script.chmod(0o755)

    @property
    def bin(self) -> Path:
        return self.home / "bin"

    @property
    def world_path(self) -> Path:
        return self.home / "world.json"

    @property
    def log_path(self) -> Path:
        return self.home / "calls.jsonl"

    def world(self) -> dict[str, Any]:
        return json.loads(self.world_path.read_text()) if self.world_path.exists() else {}

    def calls(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def forget_calls(self) -> None:
        self.log_path.unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        return {"FAKE_GCLOUD_WORLD": str(self.world_path), "FAKE_GCLOUD_LOG": str(self.log_path)}


# ------------------------------------------------------------------- REST stand-ins


@dataclass
class _Recorder:
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _JsonHandler(BaseHTTPRequestHandler):
    server: _JsonServer

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        url = urlsplit(self.path)
        with self.server.recorder.lock:
            self.server.recorder.requests.append((self.command, url.path, body))
            self.server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
            status, answer = self.server.route(self.command, url.path, parse_qs(url.query), body)
        self._reply(status, answer)

    do_GET = do_POST = do_PATCH = _handle

    def log_message(self, *args: object) -> None:
        return


class _JsonServer(LoopbackServer):
    url_path = ""

    def __init__(self) -> None:
        self.recorder = _Recorder()
        self.headers_seen: list[dict[str, str]] = []
        super().__init__(_JsonHandler)

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        raise NotImplementedError

    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.recorder.requests if r[0] != "GET"]


def _not_found(what: str) -> tuple[int, Any]:
    return 404, {"error": {"code": 404, "message": f"{what} not found", "status": "NOT_FOUND"}}


class FakeScheduler(_JsonServer):
    """Cloud Scheduler v1 REST: jobs are kept as the JSON the client sent, plus what the
    service adds on its own (state, a User-Agent header, retry defaults)."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, dict[str, Any]] = {}

    def _stored(self, job: dict[str, Any]) -> dict[str, Any]:
        job = json.loads(json.dumps(job))
        job["state"] = "ENABLED"
        job.setdefault("httpTarget", {}).setdefault("headers", {})["User-Agent"] = (
            "Google-Cloud-Scheduler"
        )
        retry = job.setdefault("retryConfig", {})
        retry.setdefault("minBackoffDuration", "5s")
        retry.setdefault("maxBackoffDuration", "3600s")
        retry.setdefault("maxDoublings", 5)
        return job

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        name = path.removeprefix("/v1/")
        if method == "GET":
            return (200, self.jobs[name]) if name in self.jobs else _not_found(name)
        if method == "POST" and name.endswith("/jobs"):
            if body["name"] in self.jobs:
                return 409, {
                    "error": {"code": 409, "message": "exists", "status": "ALREADY_EXISTS"}
                }
            self.jobs[body["name"]] = self._stored(body)
            return 200, self.jobs[body["name"]]
        if method == "PATCH":
            if name not in self.jobs:
                return _not_found(name)
            mask = [p for m in query.get("updateMask", []) for p in m.split(",")]
            job = self.jobs[name]
            for path_ in mask:
                top = "".join(
                    w if i == 0 else w.title() for i, w in enumerate(path_.split(".")[0].split("_"))
                )
                if top in body:
                    job[top] = body[top]
            self.jobs[name] = self._stored(job)
            return 200, self.jobs[name]
        return 400, {"error": {"code": 400, "message": f"unexpected {method} {path}"}}

    def body_of(self, job: dict[str, Any]) -> bytes:
        return base64.b64decode(job["httpTarget"].get("body", ""))


class FakeRules(_JsonServer):
    """Firebase Rules v1: rulesets and the `cloud.firestore` release."""

    def __init__(self) -> None:
        super().__init__()
        self.rulesets: dict[str, dict[str, Any]] = {}
        self.releases: dict[str, dict[str, Any]] = {}

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        name = path.removeprefix("/v1/")
        if method == "GET":
            found = self.releases.get(name) or self.rulesets.get(name)
            return (200, found) if found else _not_found(name)
        if method == "POST" and name.endswith("/rulesets"):
            ruleset = {"name": f"{name}/{uuid.uuid4()}", "source": body["source"]}
            self.rulesets[ruleset["name"]] = ruleset
            return 200, ruleset
        if method == "POST" and name.endswith("/releases"):
            self.releases[body["name"]] = body
            return 200, body
        if method == "PATCH" and name in self.releases:
            self.releases[name] = body["release"]
            return 200, body["release"]
        return 400, {"error": {"code": 400, "message": f"unexpected {method} {path}"}}

    def released_source(self, project: str) -> str | None:
        release = self.releases.get(f"projects/{project}/releases/cloud.firestore")
        if release is None:
            return None
        return str(self.rulesets[release["rulesetName"]]["source"]["files"][0]["content"])


Served = TypeVar("Served", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: Served) -> Iterator[Served]:
    """Serves on a daemon thread for the block, then frees the port."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
