"""deploy.sh against a recording `gcloud` on PATH and loopback stand-ins for Cloud Scheduler
and the Firebase Rules API (tests/deploy_fakes.py): what it creates, with which identities
and roles, that no secret value is ever on a command line, in gcloud's environment or in the
output, and that a second run changes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy_fakes import (
    ACCESS_TOKEN,
    FakeCloud,
    FakeRules,
    FakeScheduler,
    is_change,
    serving,
)

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "byte-clips-prod"
REGION = "europe-west1"
SA = {
    part: f"byte-clips-{part}@{PROJECT}.iam.gserviceaccount.com"
    for part in ("functions", "trigger", "scheduler", "vision", "chatbot", "app")
}
SECRET_VALUES = {
    "twitch_client_secret": "tcs-0d6f1e-CLIENT-SECRET-value",
    "dashboard_password": "correct horse battery staple 9f2",
    "gemini_api_key": "AIzaFAKE-gemini-key-5b7c",
    "discord_webhook_url": "https://discord.com/api/webhooks/1/hook-token-a1b2",
}
CONFIG = f"""
project = "{PROJECT}"
region = "{REGION}"
firestore_location = "eur3"
twitch_client_id = "abcdefghijklmnopqrstuvwxyz0123"
twitch_broadcaster_id = "12345"
twitch_bot_user_id = "67890"
parts = ["clips", "vision", "chatbot", "app"]
app_login = "password"

[secrets]
twitch_client_secret = "twitch-client-secret.txt"
dashboard_password = "dashboard-password.txt"
gemini_api_key = "gemini-api-key.txt"
discord_webhook_url = "discord-webhook-url.txt"
"""


@dataclass
class Run:
    code: int
    out: str
    err: str
    calls: list[dict[str, Any]]

    @property
    def changes(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls if is_change(c["argv"])]

    def deploys(self, *words: str) -> list[list[str]]:
        return [c["argv"] for c in self.calls if c["argv"][: len(words)] == list(words)]

    def one(self, *words: str) -> list[str]:
        found = self.deploys(*words)
        assert len(found) == 1, (words, found)
        return found[0]


# What deploy.sh reads from the repository; copied, so that files edited while a test runs
# do not look like a change between its two runs.
SNAPSHOT = (
    "deploy.sh",
    "deploy",
    "functions",
    "shared",
    "chatbot",
    "streamlit_app",
    "requirements.txt",
    "firestore.indexes.json",
)


def snapshot(target: Path) -> Path:
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SNAPSHOT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def run_unattended(
    argv: list[str], env: dict[str, str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """A command nobody can answer: no stdin, its output kept as text, any exit code returned
    for the test to judge."""
    return subprocess.run(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Deployment:
    def __init__(self, home: Path, scheduler: FakeScheduler, rules: FakeRules) -> None:
        self.home = home
        self.repo = snapshot(home / "repo")
        self.cloud = FakeCloud(home / "cloud")
        self.scheduler = scheduler
        self.rules = rules
        self.config = home / "config.toml"

    def write_config(self, text: str = CONFIG, **secrets: str) -> Path:
        self.config.write_text(text)
        for key, value in (SECRET_VALUES | secrets).items():
            (self.home / f"{key.replace('_', '-')}.txt").write_text(value + "\n")
        return self.config

    def run(self, *args: str, config: Path | None = None) -> Run:
        self.cloud.forget_calls()
        env = {
            **os.environ,
            **self.cloud.env(),
            "PATH": f"{self.cloud.bin}{os.pathsep}{os.environ['PATH']}",
            "BYTECLIPS_SCHEDULER_API": self.scheduler.url,
            "BYTECLIPS_FIREBASERULES_API": self.rules.url,
        }
        done = run_unattended(
            ["bash", str(self.repo / "deploy.sh"), "--config", str(config or self.config), *args],
            env,
            timeout=300,
        )
        return Run(done.returncode, done.stdout, done.stderr, self.cloud.calls())


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, Run, Run]]:
    """One deployment on an empty project, then the same command again."""
    with serving(FakeScheduler()) as scheduler, serving(FakeRules()) as rules:
        assert isinstance(scheduler, FakeScheduler) and isinstance(rules, FakeRules)
        deployment = Deployment(tmp_path_factory.mktemp("deploy"), scheduler, rules)
        deployment.write_config()
        first = deployment.run()
        assert first.code == 0, first.err
        second = deployment.run()
        assert second.code == 0, second.err
        yield deployment, first, second


def _flag(argv: list[str], name: str) -> list[str]:
    return [a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")]


def _set(argv: list[str], name: str) -> dict[str, str]:
    """A --set-env-vars / --set-secrets value as a mapping."""
    (value,) = _flag(argv, name)
    return dict(item.split("=", 1) for item in value.split(",")) if value else {}


def test_the_job_trigger_is_firestore_written_on_clip_jobs_with_retry(deployed):
    _, first, _ = deployed
    argv = first.one("functions", "deploy", "on-clip-job-written")
    assert _flag(argv, "trigger-event-filters") == [
        "type=google.cloud.firestore.document.v1.written",
        "database=(default)",
    ]
    assert _flag(argv, "trigger-event-filters-path-pattern") == ["document=clip_jobs/{job_id}"]
    assert _flag(argv, "trigger-location") == ["eur3"]
    assert "--retry" in argv and "--trigger-http" not in argv
    assert _flag(argv, "entry-point") == ["on_clip_job_written"]


def test_five_gen2_python312_functions_each_with_only_what_it_needs(deployed):
    _, first, _ = deployed
    deploys = {c["argv"][2]: c for c in first.calls if c["argv"][:2] == ["functions", "deploy"]}
    assert set(deploys) == {
        "on-clip-job-written",
        "sweep-clip-jobs",
        "validate-tokens",
        "tune-chat-detection",
        "vision-ingest",
    }
    for name, call in deploys.items():
        argv = call["argv"]
        assert "--gen2" in argv and _flag(argv, "runtime") == ["python312"], name
        assert _flag(argv, "entry-point") == [name.replace("-", "_")]
        files = call["source_files"]
        assert {"main.py", "requirements.txt", "functions/main.py", "functions/wiring.py"} <= set(
            files
        ), name
        assert "shared/__init__.py" in files and not any("__pycache__" in f for f in files)
    for name in ("sweep-clip-jobs", "validate-tokens", "tune-chat-detection"):
        argv = deploys[name]["argv"]
        assert "--trigger-http" in argv and "--no-allow-unauthenticated" in argv
        assert "--allow-unauthenticated" not in argv
    vision = deploys["vision-ingest"]["argv"]
    assert "--trigger-http" in vision and "--allow-unauthenticated" in vision
    assert _set(vision, "set-env-vars") == {"GOOGLE_CLOUD_PROJECT": PROJECT}
    assert set(_set(vision, "set-secrets")) == {"VISION_INGEST_TOKEN", "GEMINI_API_KEY"}
    clip_functions = ("on-clip-job-written", "sweep-clip-jobs", "validate-tokens")
    for name in (*clip_functions, "tune-chat-detection"):
        argv = deploys[name]["argv"]
        assert set(_set(argv, "set-secrets")) == {"TWITCH_CLIENT_SECRET"}
        assert _set(argv, "set-env-vars")["TWITCH_CLIENT_ID"] == "abcdefghijklmnopqrstuvwxyz0123"


def test_secrets_are_mounted_as_pinned_references(deployed):
    deployment, first, _ = deployed
    world = deployment.cloud.world()
    reference = re.compile(r"^[a-z-]+:[0-9]+$")
    mounted = {}
    for argv in first.deploys("functions", "deploy") + first.deploys("run", "deploy"):
        for env, ref in _set(argv, "set-secrets").items():
            assert reference.match(ref), (env, ref)
            mounted[env] = ref
            name, version = ref.split(":")
            assert int(version) == len(world["secrets"][name]["versions"])
    assert mounted == {
        "TWITCH_CLIENT_SECRET": "twitch-client-secret:1",
        "VISION_INGEST_TOKEN": "vision-ingest-token:1",
        "GEMINI_API_KEY": "gemini-api-key:1",
        "DISCORD_WEBHOOK_URL": "discord-webhook-url:1",
        "DASHBOARD_PASSWORD": "dashboard-password:1",
    }
    # The values arrived on gcloud's standard input, without the file's newline.
    stored = {name: s["versions"][-1] for name, s in world["secrets"].items()}
    assert stored["twitch-client-secret"] == SECRET_VALUES["twitch_client_secret"]
    assert stored["dashboard-password"] == SECRET_VALUES["dashboard_password"]
    assert len(stored["vision-ingest-token"]) >= 40  # generated
    adds = first.deploys("secrets", "versions", "add")
    assert all(_flag(a, "data-file") == ["-"] for a in adds) and len(adds) == 5


def test_no_secret_value_on_a_command_line_in_the_environment_or_the_output(deployed):
    deployment, first, second = deployed
    world = deployment.cloud.world()
    values = [s["versions"][-1] for s in world["secrets"].values()] + [ACCESS_TOKEN]
    assert len(values) == 6
    for run in (first, second):
        for call in run.calls:
            text = json.dumps([call["argv"], call["env"]])
            assert not [v for v in values if v in text], call["argv"]
        assert not [v for v in values if v in run.out + run.err]
    # Only `secrets versions add` reads a value, and only on stdin.
    readers = [c["argv"][:3] for c in first.calls if c["stdin"]]
    assert readers == [["secrets", "versions", "add"]] * 5


def test_each_part_has_its_own_account_with_only_its_roles(deployed):
    deployment, first, _ = deployed
    world = deployment.cloud.world()
    assert sorted(world["accounts"]) == sorted(SA.values())
    project = {b["role"]: sorted(b["members"]) for b in world["policies"]["project"]["bindings"]}
    assert project == {
        "roles/datastore.user": sorted(
            f"serviceAccount:{SA[p]}" for p in ("functions", "vision", "chatbot", "app")
        ),
        "roles/eventarc.eventReceiver": [f"serviceAccount:{SA['trigger']}"],
    }

    def members(resource: str) -> dict[str, list[str]]:
        bindings = world["policies"][resource]["bindings"]
        return {
            b["role"]: sorted(m.removeprefix("serviceAccount:") for m in b["members"])
            for b in bindings
        }

    accessor = "roles/secretmanager.secretAccessor"
    assert members("secret/twitch-client-secret") == {
        accessor: sorted([SA["functions"], SA["chatbot"], SA["app"]])
    }
    assert members("secret/vision-ingest-token") == {accessor: [SA["vision"]]}
    assert members("secret/gemini-api-key") == {accessor: sorted([SA["vision"], SA["chatbot"]])}
    assert members("secret/discord-webhook-url") == {accessor: [SA["chatbot"]]}
    assert members("secret/dashboard-password") == {accessor: [SA["app"]]}
    invokers = {
        name.removeprefix("run/"): members(name)
        for name in world["policies"]
        if name.startswith("run/")
    }
    assert invokers == {
        "sweep-clip-jobs": {"roles/run.invoker": [SA["scheduler"]]},
        "validate-tokens": {"roles/run.invoker": [SA["scheduler"]]},
        "tune-chat-detection": {"roles/run.invoker": [SA["scheduler"]]},
        "on-clip-job-written": {"roles/run.invoker": [SA["trigger"]]},
    }
    identities = {
        argv[2]: _flag(argv, "service-account")
        for argv in first.deploys("functions", "deploy") + first.deploys("run", "deploy")
    }
    assert identities == {
        "on-clip-job-written": [SA["functions"]],
        "sweep-clip-jobs": [SA["functions"]],
        "validate-tokens": [SA["functions"]],
        "tune-chat-detection": [SA["functions"]],
        "vision-ingest": [SA["vision"]],
        "byte-clips-chatbot": [SA["chatbot"]],
        "byte-clips-app": [SA["app"]],
    }
    trigger = first.one("functions", "deploy", "on-clip-job-written")
    assert _flag(trigger, "trigger-service-account") == [SA["trigger"]]


def test_scheduler_jobs_hourly_validation_and_minutely_sweep_with_oidc(deployed):
    deployment, _, _ = deployed
    jobs = deployment.scheduler.jobs
    parent = f"projects/{PROJECT}/locations/{REGION}/jobs"
    assert set(jobs) == {
        f"{parent}/sweep-clip-jobs",
        f"{parent}/validate-tokens",
        f"{parent}/tune-chat-detection",
    }
    for job_id, schedule in (
        ("sweep-clip-jobs", "* * * * *"),
        ("validate-tokens", "0 * * * *"),
        ("tune-chat-detection", "30 7 * * *"),
    ):
        job = jobs[f"{parent}/{job_id}"]
        target = job["httpTarget"]
        uri = f"https://{job_id}-123456789012.{REGION}.run.app"
        assert job["schedule"] == schedule and job["timeZone"] == "Etc/UTC"
        assert target["uri"] == uri
        assert target["oidcToken"] == {"serviceAccountEmail": SA["scheduler"], "audience": uri}
        assert deployment.scheduler.body_of(job) == b"{}"
    # The helper authenticated with gcloud's token, handed over on stdin.
    assert all(
        h.get("authorization") == f"Bearer {ACCESS_TOKEN}"
        for h in deployment.scheduler.headers_seen
    )


def test_rules_deny_every_client_and_indexes_and_ttl_are_deployed(deployed):
    deployment, first, _ = deployed
    source = deployment.rules.released_source(PROJECT)
    assert source == (ROOT / "deploy/firestore.rules").read_text()
    assert "allow read, write: if false;" in source
    world = deployment.cloud.world()
    wanted = json.loads((ROOT / "firestore.indexes.json").read_text())
    assert len(world["indexes"]) == len(wanted["indexes"])
    assert [t["name"].split("/collectionGroups/")[1] for t in world["ttls"]] == [
        f"{o['collectionGroup']}/fields/{o['fieldPath']}" for o in wanted["fieldOverrides"]
    ]
    create = first.one("firestore", "databases", "create")
    assert {"--database=(default)", "--location=eur3", "--type=firestore-native"} <= set(create)


def test_chat_bot_one_instance_always_on_with_healthz_probes(deployed):
    _, first, _ = deployed
    argv = first.one("run", "deploy", "byte-clips-chatbot")
    for flag in ("--min-instances=1", "--max-instances=1", "--no-cpu-throttling"):
        assert flag in argv
    assert "httpGet.path=/healthz" in _flag(argv, "startup-probe")[0]
    assert "httpGet.path=/healthz" in _flag(argv, "liveness-probe")[0]
    env = _set(argv, "set-env-vars")
    assert env["TWITCH_BOT_USER_ID"] == "67890" and env["TWITCH_BROADCASTER_ID"] == "12345"
    (image,) = _flag(argv, "image")
    assert image.startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/byte-clips/chatbot:")
    (build,) = [
        c
        for c in first.calls
        if c["argv"][:3] == ["builds", "submit", *c["argv"][2:3]]
        and _flag(c["argv"], "tag") == [image]
    ]
    dockerfile = build["source_files"]["Dockerfile"]
    assert dockerfile == (ROOT / "deploy/chatbot.Dockerfile").read_text()
    assert "FROM python:3.12-slim" in dockerfile
    assert {"requirements.txt", "chatbot/__main__.py", "shared/__init__.py"} <= set(
        build["source_files"]
    )


def test_app_has_session_affinity_and_its_login_secret(deployed):
    _, first, _ = deployed
    argv = first.one("run", "deploy", "byte-clips-app")
    assert "--session-affinity" in argv and "--allow-unauthenticated" in argv
    assert _flag(argv, "timeout") == ["3600"]
    assert set(_set(argv, "set-secrets")) == {"TWITCH_CLIENT_SECRET", "DASHBOARD_PASSWORD"}
    env = _set(argv, "set-env-vars")
    assert env["TWITCH_REDIRECT_URI"] == f"https://byte-clips-app-123456789012.{REGION}.run.app/"
    app_build = next(
        c
        for c in first.calls
        if c["argv"][:2] == ["builds", "submit"] and _flag(c["argv"], "tag") == _flag(argv, "image")
    )
    files = app_build["source_files"]
    assert "deploy/app.streamlit.toml" in files and "streamlit_app/app.py" in files
    assert "chatbot/__main__.py" not in files


def test_the_end_prints_the_addresses_and_next_steps(deployed):
    _, first, _ = deployed
    assert f"operations app: https://byte-clips-app-123456789012.{REGION}.run.app" in first.out
    assert f"vision_ingest:  https://vision-ingest-123456789012.{REGION}.run.app" in first.out
    assert "Connect Twitch" in first.out and "obs.frame_sender" in first.out


def test_a_second_run_changes_nothing(deployed):
    deployment, first, second = deployed
    assert len(first.changes) > 30
    assert second.changes == []
    assert "done: 0 change(s)" in second.out
    assert "scheduler job sweep-clip-jobs: unchanged" in second.out
    assert "Firestore rules: unchanged" in second.out
    # The three creates of the first run; the second run only read.
    assert [(m, p) for m, p, _ in deployment.scheduler.writes()] == [
        ("POST", f"/v1/projects/{PROJECT}/locations/{REGION}/jobs")
    ] * 3


def test_a_changed_secret_adds_one_version_and_redeploys_what_mounts_it(tmp_path):
    with serving(FakeScheduler()) as scheduler, serving(FakeRules()) as rules:
        assert isinstance(scheduler, FakeScheduler) and isinstance(rules, FakeRules)
        deployment = Deployment(tmp_path, scheduler, rules)
        deployment.write_config()
        assert deployment.run().code == 0
        deployment.write_config(dashboard_password="a new password for the operators")
        again = deployment.run()
    assert again.code == 0, again.err
    assert again.changes == [
        [
            "secrets",
            "versions",
            "add",
            "dashboard-password",
            "--data-file=-",
            f"--project={PROJECT}",
            "--quiet",
        ],
        again.one("run", "deploy", "byte-clips-app"),
    ]
    assert (
        _set(again.one("run", "deploy", "byte-clips-app"), "set-secrets")["DASHBOARD_PASSWORD"]
        == "dashboard-password:2"
    )


def test_dry_run_prints_every_command_and_runs_none(tmp_path):
    with serving(FakeScheduler()) as scheduler, serving(FakeRules()) as rules:
        assert isinstance(scheduler, FakeScheduler) and isinstance(rules, FakeRules)
        deployment = Deployment(tmp_path, scheduler, rules)
        deployment.write_config()
        dry = deployment.run("--dry-run")
    assert dry.code == 0, dry.err
    assert dry.calls == [] and scheduler.recorder.requests == [] and rules.recorder.requests == []
    shown = [line for line in dry.out.splitlines() if line.startswith("+ gcloud ")]
    for expected in (
        "+ gcloud functions deploy on-clip-job-written",
        "+ gcloud functions deploy vision-ingest",
        "+ gcloud run deploy byte-clips-chatbot",
        "+ gcloud run deploy byte-clips-app",
        "+ gcloud secrets versions add twitch-client-secret --data-file=-",
        "+ gcloud auth print-access-token",
    ):
        assert any(line.startswith(expected) for line in shown), expected
    assert "-m deploy.scheduler_jobs" in dry.out and "-m deploy.firestore_rules" in dry.out
    assert not [v for v in SECRET_VALUES.values() if v in dry.out + dry.err]


BAD_CONFIGS = {
    "project": ('project = "byte-clips-prod"', 'project = "My Project"'),
    "twitch_broadcaster_id": (
        'twitch_broadcaster_id = "12345"',
        'twitch_broadcaster_id = "bytestreamer"',
    ),
    "region": ('region = "europe-west1"\n', ""),
    "parts": ('parts = ["clips", "vision", "chatbot", "app"]', 'parts = ["clips", "website"]'),
    "secrets.dashboard_password": ('"dashboard-password.txt"', '"no-such-file.txt"'),
    "firestore_location": ('firestore_location = "eur3"', 'firestore_location = "Europe"'),
    "app_login": ('app_login = "password"', 'app_login = "sso"'),
}


@pytest.mark.parametrize("field", sorted(BAD_CONFIGS))
def test_a_bad_config_value_stops_before_any_command(tmp_path, field):
    old, new = BAD_CONFIGS[field]
    assert old in CONFIG
    with serving(FakeScheduler()) as scheduler, serving(FakeRules()) as rules:
        assert isinstance(scheduler, FakeScheduler) and isinstance(rules, FakeRules)
        deployment = Deployment(tmp_path, scheduler, rules)
        deployment.write_config(CONFIG.replace(old, new))
        done = deployment.run()
    assert done.code == 2
    assert done.calls == [] and done.out == ""
    assert f"  - {field}" in done.err and "Fix: " in done.err, done.err
    assert "nothing was run" in done.err


def test_oidc_login_mounts_secrets_toml_and_checks_it_first(tmp_path):
    oidc = tmp_path / "secrets.toml"
    oidc.write_text(
        "[auth]\n"
        f'redirect_uri = "https://byte-clips-app-123456789012.{REGION}.run.app/oauth2callback"\n'
        'cookie_secret = "cookie-secret-3e1"\nclient_id = "oidc-client"\n'
        'client_secret = "oidc-client-secret-77"\n'
        'server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"\n'
    )
    config = CONFIG.replace('app_login = "password"', 'app_login = "oidc"').replace(
        'dashboard_password = "dashboard-password.txt"', 'app_oidc_secrets = "secrets.toml"'
    )
    with serving(FakeScheduler()) as scheduler, serving(FakeRules()) as rules:
        assert isinstance(scheduler, FakeScheduler) and isinstance(rules, FakeRules)
        deployment = Deployment(tmp_path, scheduler, rules)
        deployment.write_config(config)
        done = deployment.run()
        assert done.code == 0, done.err
        argv = done.one("run", "deploy", "byte-clips-app")
        assert _set(argv, "set-secrets") == {
            "TWITCH_CLIENT_SECRET": "twitch-client-secret:1",
            "/var/secrets/streamlit/secrets.toml": "app-streamlit-secrets:1",
        }
        assert "warning" not in done.out
        stored = deployment.cloud.world()["secrets"]["app-streamlit-secrets"]["versions"][-1]
        assert stored == oidc.read_text().rstrip("\n")
        assert "oidc-client-secret-77" not in done.out + done.err
        oidc.write_text(oidc.read_text().replace("cookie_secret", "cookie_typo"))
        refused = deployment.run()
    assert refused.code == 2 and refused.calls == []
    assert "secrets.app_oidc_secrets" in refused.err and "cookie_secret" in refused.err
    assert "oidc-client-secret-77" not in refused.err
