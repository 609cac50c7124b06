"""The clip pipeline as separate real processes: used by the local stack, the end-to-end
tests and the benchmark.

Firestore emulator (from the test session), the Helix simulator over HTTP, the three clip
functions under functions-framework, and the trigger relay turning `clip_jobs` writes into
Eventarc-shaped CloudEvents.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from google.cloud import firestore

from local.eventarc_encoder import encode_document_written
from local.functions_host import FunctionServer
from local.helix_simulator import HelixSimulator
from local.trigger_relay import TriggerRelay
from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.firestore_client import LOCAL_PROJECT
from shared.store.twitch_tokens import TwitchTokenStore

CLIENT_ID = "byteclips-e2e"
# A candidate exists only once chat has reacted, so its moment is already a few seconds old
# (and its post-roll has aired): the worker creates at once instead of waiting for it.
MOMENT_AGE = timedelta(seconds=6)
# A live channel has been on air (and recording its archive) for a while before its moments.
LIVE_FOR = timedelta(hours=1)
CLIENT_SECRET = "e2e-client-secret-value"
TERMINAL = {JobStatus.READY, JobStatus.FAILED}


@dataclass
class Functions:
    worker: FunctionServer
    sweeper: FunctionServer
    tokens: FunctionServer

    def sweep(self) -> dict[str, Any]:
        response = requests.post(self.sweeper.url, json={}, timeout=60)
        return response.json()

    def sweep_until_finished(self, job_id: str, timeout: float = 25.0) -> list[str]:
        """Sweep (as Cloud Scheduler would, faster) until a sweep finishes `job_id` (ready or
        failed); what each sweep that touched it did."""
        outcomes: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            outcome = self.sweep()["finished"].get(job_id)
            if outcome:
                outcomes.append(outcome)
                if outcome.startswith(("ready", "failed")):
                    return outcomes
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} not finished by the sweeper: {outcomes}")

    def validate(self) -> dict[str, Any]:
        response = requests.post(self.tokens.url, json={}, timeout=60)
        response.raise_for_status()
        return response.json()


def function_env(
    sim: HelixSimulator,
    emulator_host: str,
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    **extra: str,
) -> dict[str, str]:
    return {
        "FIRESTORE_EMULATOR_HOST": emulator_host,
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "TWITCH_CLIENT_ID": client_id,
        "TWITCH_CLIENT_SECRET": client_secret,
        "TWITCH_API_BASE": sim.api_base,
        "TWITCH_AUTH_BASE": sim.auth_base,
        **extra,
    }


@contextmanager
def running_functions(env: dict[str, str]) -> Iterator[Functions]:
    with ExitStack() as stack:
        servers = [
            stack.enter_context(FunctionServer(target, env=env))
            for target in ("on_clip_job_written", "sweep_clip_jobs", "validate_tokens")
        ]
        yield Functions(*servers)


@contextmanager
def lone_worker(db: firestore.Client, env: dict[str, str]) -> Iterator[FunctionServer]:
    """A worker process of its own, fed by a relay of its own with the jobs written from now
    on: a test can slow, crash or kill it and leave the rest of the stack alone."""
    with (
        FunctionServer("on_clip_job_written", env=env) as worker,
        TriggerRelay(db, worker.url, skip_existing=True),
    ):
        yield worker


def connect_channel(
    sim: HelixSimulator,
    db: firestore.Client,
    user_id: str,
    *,
    live: bool = True,
    scopes: tuple[str, ...] = CONNECT_SCOPES,
) -> str:
    """A channel on the simulator with its tokens stored as Connect Twitch would; a live one
    has been broadcasting for LIVE_FOR, its archive recording."""
    access, refresh = sim.add_user(user_id, f"user{user_id}", client_id=CLIENT_ID, scopes=scopes)
    if live:
        sim.start_broadcast(user_id, started_ago=LIVE_FOR.total_seconds())
    else:
        sim.set_live(user_id, False)
    grant = TokenGrant(access_token=access, refresh_token=refresh, expires_in=14400, scopes=scopes)
    TwitchTokenStore(db).save_grant(
        grant, user_id=user_id, login=f"user{user_id}", client_id=CLIENT_ID
    )
    return access


def approve_moment(db: firestore.Client, broadcaster_id: str, **fields: Any) -> ClipJob:
    """Enqueue a candidate for a moment that just happened (MOMENT_AGE ago) and approve it."""
    candidate = {
        "broadcaster_id": broadcaster_id,
        "mode": "live",
        "suggested_duration": 30.0,
        "suggested_title": f"moment {time.monotonic_ns()}",
        "source": "manual",
        "source_ts": (datetime.now(UTC) - MOMENT_AGE).isoformat(),
        "score": 1.0,
    } | fields
    queue = ActionQueue(db)
    action = queue.submit(candidate)
    return approve(queue, ClipJobStore(db), action.action_id, by="e2e@example.com")


def job_created_event(
    db: firestore.Client, job_id: str, **changes: Any
) -> tuple[dict[str, str], bytes]:
    """The CloudEvent Eventarc sends for the job document's creation, as it is stored now;
    `changes` go to the encoder (`time=`: an old event). Keep it to deliver the same event again."""
    stored = db.collection("clip_jobs").document(job_id).get()
    return encode_document_written(
        LOCAL_PROJECT,
        f"clip_jobs/{job_id}",
        None,
        stored.to_dict(),
        create_time=stored.create_time,
        update_time=stored.update_time,
        **changes,
    )


def wait_for_job(
    db: firestore.Client,
    job_id: str,
    until: Callable[[ClipJob], bool] = lambda job: job.status in TERMINAL,
    timeout: float = 30.0,
) -> ClipJob:
    store = ClipJobStore(db)
    deadline = time.monotonic() + timeout
    job = store.require(job_id)
    while time.monotonic() < deadline:
        job = store.require(job_id)
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stuck: {job.status} {job.error_code} {job.error_detail}")
