"""deploy/scheduler_jobs.py through the real google-cloud-scheduler client (REST transport)
against a loopback stand-in of Cloud Scheduler's API: it creates what is missing, updates only
what differs, with a field mask naming it, and leaves a matching job alone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.scheduler_jobs import SWEEP, TUNE, VALIDATE, ensure_jobs, make_client
from tests.deploy_fakes import FakeScheduler, serving

ROOT = Path(__file__).resolve().parent.parent
PROJECT, REGION = "byte-clips-prod", "europe-west1"
CALLER = f"byte-clips-scheduler@{PROJECT}.iam.gserviceaccount.com"
SWEEP_URI = f"https://sweep-clip-jobs-1.{REGION}.run.app"
VALIDATE_URI = f"https://validate-tokens-1.{REGION}.run.app"
PARENT = f"projects/{PROJECT}/locations/{REGION}/jobs"


@pytest.fixture
def api() -> Iterator[FakeScheduler]:
    with serving(FakeScheduler()) as server:
        assert isinstance(server, FakeScheduler)
        yield server


def ensure(api: FakeScheduler, **overrides: str) -> list[tuple[str, str]]:
    client = make_client("test-token", PROJECT, api.url)
    settings = {
        "project": PROJECT,
        "region": REGION,
        "caller": CALLER,
        "sweep_uri": SWEEP_URI,
        "validate_uri": VALIDATE_URI,
    } | overrides
    return ensure_jobs(client, **settings)


def test_missing_jobs_are_created_with_their_schedules_and_oidc_identity(api):
    assert ensure(api) == [("sweep-clip-jobs", "created"), ("validate-tokens", "created")]
    sweep, validate = api.jobs[f"{PARENT}/sweep-clip-jobs"], api.jobs[f"{PARENT}/validate-tokens"]
    assert sweep["schedule"] == "* * * * *" == SWEEP.schedule
    assert validate["schedule"] == "0 * * * *" == VALIDATE.schedule
    for job, uri in ((sweep, SWEEP_URI), (validate, VALIDATE_URI)):
        target = job["httpTarget"]
        assert target["uri"] == uri and target["httpMethod"] in ("POST", 1)
        assert target["oidcToken"] == {"serviceAccountEmail": CALLER, "audience": uri}
        assert target["headers"]["Content-Type"] == "application/json"
        assert api.body_of(job) == b"{}"
        assert job["timeZone"] == "Etc/UTC" and job["attemptDeadline"] == "300s"
    assert validate["retryConfig"]["retryCount"] == 2
    assert all(h.get("authorization") == "Bearer test-token" for h in api.headers_seen)


def test_a_second_run_reads_and_writes_nothing(api):
    ensure(api)
    writes = len(api.writes())
    assert ensure(api) == [("sweep-clip-jobs", "unchanged"), ("validate-tokens", "unchanged")]
    assert len(api.writes()) == writes == 2


def test_only_what_differs_is_updated(api):
    ensure(api)
    api.jobs[f"{PARENT}/sweep-clip-jobs"]["schedule"] = "*/5 * * * *"
    results = ensure(api, validate_uri=VALIDATE_URI + "/v2")
    assert results == [
        ("sweep-clip-jobs", "updated (schedule)"),
        ("validate-tokens", "updated (http_target)"),
    ]
    patches = [(path, body) for method, path, body in api.writes() if method == "PATCH"]
    assert [path for path, _ in patches] == [
        f"/v1/{PARENT}/sweep-clip-jobs",
        f"/v1/{PARENT}/validate-tokens",
    ]
    assert api.jobs[f"{PARENT}/sweep-clip-jobs"]["schedule"] == "* * * * *"
    target = api.jobs[f"{PARENT}/validate-tokens"]["httpTarget"]
    assert target["uri"] == target["oidcToken"]["audience"] == VALIDATE_URI + "/v2"
    assert ensure(api, validate_uri=VALIDATE_URI + "/v2")[1] == ("validate-tokens", "unchanged")


def test_the_command_takes_its_token_on_stdin_only(api):
    args = [
        sys.executable,
        "-m",
        "deploy.scheduler_jobs",
        f"--project={PROJECT}",
        f"--region={REGION}",
        f"--service-account={CALLER}",
        f"--sweep-uri={SWEEP_URI}",
        f"--validate-uri={VALIDATE_URI}",
    ]
    env = {"PATH": "/usr/bin:/bin", "BYTECLIPS_SCHEDULER_API": api.url}
    none = subprocess.run(args, cwd=ROOT, env=env, input="", capture_output=True, text=True)
    assert none.returncode == 2 and "no access token" in none.stderr and not api.jobs
    done = subprocess.run(
        args, cwd=ROOT, env=env, input="tok-from-stdin\n", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "scheduler job sweep-clip-jobs: created",
        "scheduler job validate-tokens: created",
    ]
    assert "tok-from-stdin" not in done.stdout + done.stderr
    assert {h.get("authorization") for h in api.headers_seen} == {"Bearer tok-from-stdin"}


TUNE_URI = f"https://tune-chat-detection-1.{REGION}.run.app"


def test_the_daily_chat_tuning_job_is_added_when_its_function_is_given(api):
    results = ensure(api, tune_uri=TUNE_URI)
    assert results[-1] == ("tune-chat-detection", "created")
    tune = api.jobs[f"{PARENT}/tune-chat-detection"]
    assert tune["schedule"] == TUNE.schedule == "30 7 * * *"
    assert tune["httpTarget"]["oidcToken"] == {"serviceAccountEmail": CALLER, "audience": TUNE_URI}
    assert tune["retryConfig"]["retryCount"] == 2 and tune["attemptDeadline"] == "300s"
    assert ensure(api, tune_uri=TUNE_URI)[-1] == ("tune-chat-detection", "unchanged")
