"""The clip pipeline end to end: emulator + Helix simulator + functions-framework processes.

Approval writes a job; the relay delivers the Firestore CloudEvent to `on_clip_job_written`
in its own process; the sweeper and token validation are called over HTTP like Cloud
Scheduler would.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local.clip_harness import (
    approve_moment,
    connect_channel,
    function_env,
    job_created_event,
    lone_worker,
    wait_for_job,
)
from local.helix_simulator import HelixSimulator
from shared.domain.clip_job import JobStatus
from shared.domain.errors import ErrorCode
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore

HELIX_CREATE = ("POST", "/helix/clips")
VOD_CREATE = ("POST", "/helix/videos/clips")
_ids = iter(range(70_000, 80_000))


def new_channel_id() -> str:
    return str(next(_ids))


@pytest.fixture(scope="module")
def clip_visible_after() -> float:
    """`sim`, `functions`, `relay` come from tests/conftest.py; here clips show after 0.6 s."""
    return 0.6


def creates_for(sim: HelixSimulator, broadcaster_id: str, path: str = "/helix/clips") -> int:
    return sum(
        1
        for call in sim.calls
        if call.path == path
        and call.method == "POST"
        and call.query.get("broadcaster_id") == [broadcaster_id]
    )


def test_live_approval_becomes_ready_with_all_links(db, sim, functions, relay):
    channel = new_channel_id()
    connect_channel(sim, db, channel)
    job = approve_moment(db, channel, suggested_title="Clutch save")
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY, ready.error_detail
    assert ready.twitch_clip_id and ready.edit_url.endswith(f"/{ready.twitch_clip_id}/edit")
    assert ready.clip_url and ready.thumbnail_url
    assert ready.attempts == 1 and ready.ready_at is not None
    assert ready.action_id == job.action_id
    assert creates_for(sim, channel) == 1
    report = functions.sweep()
    assert job.job_id in report["downloads_filled"]
    done = ClipJobStore(db).require(job.job_id)
    assert done.landscape_download_url and done.portrait_download_url


def test_vod_approval_becomes_ready(db, sim, functions, relay):
    channel = new_channel_id()
    connect_channel(sim, db, channel, live=False)
    sim.add_vod("955" + channel, channel, duration_seconds=3600)
    job = approve_moment(
        db,
        channel,
        mode="vod",
        vod_id="955" + channel,
        vod_offset=600,
        suggested_title="From the VOD",
        source_ts=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    )
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY, ready.error_detail
    assert ready.clip_url and ready.edit_url
    assert creates_for(sim, channel, "/helix/videos/clips") == 1


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        ("offline", ErrorCode.NOT_FOUND, "not live"),
        ("clips_disabled", ErrorCode.FORBIDDEN, "clip settings"),
        ("automod", ErrorCode.BAD_REQUEST, "AutoMod"),
        ("no_scope", ErrorCode.UNAUTHORIZED, "Reconnect Twitch"),
        ("server_errors", ErrorCode.UNKNOWN, "Check the channel's clips"),
        ("rate_limited", ErrorCode.RATE_LIMITED, "Wait a minute"),
    ],
)
def test_each_failure_lands_in_its_code(db, sim, functions, relay, setup, code, words):
    channel = new_channel_id()
    title = "Great play"
    connect_channel(
        sim,
        db,
        channel,
        live=setup != "offline",
        scopes=("channel:manage:clips",) if setup == "no_scope" else ("clips:edit",),
    )
    if setup == "clips_disabled":
        sim.configure_channel(channel, clips_disabled=True)
    if setup == "automod":
        sim.configure_channel(channel, automod_words=("badword",))
        title = "such a badword"
    if setup == "server_errors":
        sim.inject_fault("POST /helix/clips", "status", status=503, times=3)
    if setup == "rate_limited":
        ControlPlaneStore(db).write({"max_rate_limit_retries": 1}, by="e2e")
        sim.inject_fault("POST /helix/clips", "status", status=429, reset_after=30)
    job = approve_moment(db, channel, suggested_title=title)
    failed = wait_for_job(db, job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error_code is code
    assert words in failed.error_detail
    # offline: the moment plan finds no stream and no archive, so no create is sent (issue 11)
    expected_creates = {"no_scope": 2, "server_errors": 3, "offline": 0}.get(setup, 1)
    assert creates_for(sim, channel) == expected_creates


def test_confirmation_timeout_keeps_the_edit_link(db, sim, functions, relay):
    channel = new_channel_id()
    connect_channel(sim, db, channel)
    sim.next_clip_visible_after([None])
    job = approve_moment(db, channel)
    failed = wait_for_job(db, job.job_id, timeout=40)
    assert failed.error_code is ErrorCode.CREATE_TIMEOUT
    assert failed.twitch_clip_id and failed.edit_url
    assert failed.clip_created_at and failed.updated_at - failed.clip_created_at >= timedelta(
        seconds=15
    )
    gets = [c for c in sim.calls if c.path == "/helix/clips" and c.method == "GET"]
    assert [c for c in gets if c.query.get("id") == [failed.twitch_clip_id]]


def test_the_same_cloudevent_twice_creates_one_clip(db, sim, functions):
    channel = new_channel_id()
    connect_channel(sim, db, channel)
    job = approve_moment(db, channel)
    headers, body = job_created_event(db, job.job_id)
    answers: list[int] = []

    def deliver() -> None:
        answers.append(
            requests.post(functions.worker.url, headers=headers, data=body, timeout=60).status_code
        )

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deliver()
    assert answers == [200, 200, 200]
    assert wait_for_job(db, job.job_id).status is JobStatus.READY
    assert creates_for(sim, channel) == 1


def test_worker_killed_after_create_is_finished_by_the_sweeper(
    db, sim, functions, firestore_emulator
):
    """Killed while its create call was on the wire (Twitch made the clip): the sweeper finds
    the clip on the channel (issue 10: it used to fail `clip_unknown`), with one create."""
    channel = new_channel_id()
    connect_channel(sim, db, channel)
    env = function_env(sim, firestore_emulator.host, BYTECLIPS_WORKER_LEASE_SECONDS="2")
    sim.inject_fault("POST /helix/clips", "slow", delay=2.0)
    with lone_worker(db, env) as doomed:
        job = approve_moment(db, channel)
        wait_for_job(db, job.job_id, lambda j: j.status is JobStatus.CREATING)
        time.sleep(0.5)
        doomed.kill()
    time.sleep(2.0)
    assert creates_for(sim, channel) == 1
    outcomes = functions.sweep_until_finished(job.job_id, timeout=20.0)
    assert outcomes[-1] == "ready: found on the channel", outcomes
    ready = ClipJobStore(db).require(job.job_id)
    assert ready.status is JobStatus.READY
    assert ready.twitch_clip_id and ready.edit_url and ready.clip_url
    assert sim.clip_timeline(ready.twitch_clip_id) is not None
    assert ready.create_sent_at is not None
    functions.sweep()
    assert creates_for(sim, channel) == 1
    stuck = [
        j.job_id
        for status in (JobStatus.QUEUED, JobStatus.CREATING, JobStatus.POLLING)
        for j in ClipJobStore(db).list_by_status(status)
    ]
    assert stuck == []


def test_429_is_retried_after_the_reset_not_before(db, sim, functions, relay):
    channel = new_channel_id()
    connect_channel(sim, db, channel)
    sim.inject_fault("POST /helix/clips", "status", status=429, reset_after=7)
    job = approve_moment(db, channel)
    waiting = wait_for_job(db, job.job_id, lambda j: j.next_attempt_at is not None)
    assert waiting.status is JobStatus.QUEUED
    assert waiting.error_code is ErrorCode.RATE_LIMITED
    assert "Retrying at" in waiting.error_detail
    reset = waiting.next_attempt_at
    assert functions.sweep()["requeued"] == []
    while datetime.now(UTC) < reset:
        time.sleep(0.1)
    assert functions.sweep()["requeued"] == [job.job_id]
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY
    assert ready.attempts == 2
    creates = [c for c in sim.calls if c.path == "/helix/clips" and c.method == "POST"]
    mine = [c for c in creates if c.query.get("broadcaster_id") == [channel]]
    assert [c.status for c in mine] == [429, 202]
    assert mine[1].at >= reset.timestamp()


def test_api_switched_off_makes_no_helix_call(db, sim, functions, relay):
    channel = new_channel_id()
    connect_channel(sim, db, channel)
    ControlPlaneStore(db).write({"clip_api_enabled": False}, by="op@example.com")
    before = len(sim.calls)
    job = approve_moment(db, channel)
    waiting = wait_for_job(db, job.job_id, lambda j: j.error_detail is not None)
    assert waiting.status is JobStatus.QUEUED
    assert "clip_api_enabled is off" in waiting.error_detail
    time.sleep(0.5)
    assert [c for c in sim.calls[before:] if c.path.startswith("/helix/")] == []
    ControlPlaneStore(db).write({"clip_api_enabled": True}, by="op@example.com")
    ClipJobStore(db).update_fields(
        job.job_id, {"next_attempt_at": datetime.now(UTC)}, expect={JobStatus.QUEUED}
    )
    assert functions.sweep()["requeued"] == [job.job_id]
    assert wait_for_job(db, job.job_id).status is JobStatus.READY


def test_token_validation_publishes_health_and_bad_token_fails_fast(db, sim, functions, relay):
    channel = new_channel_id()
    access = connect_channel(sim, db, channel, scopes=("clips:edit",))
    ControlPlaneStore(db).write({"clip_editor_user_id": channel}, by="e2e")
    body = functions.validate()
    health = body["clips_auth"]
    assert health["clips_token_valid"] is True
    assert health["user_id"] == channel
    assert health["clips_scope_ok"] is False
    assert "editor:manage:clips or channel:manage:clips" in health["missing_scopes"]
    assert access not in str(body)
    sim.expire_token(access)
    db.collection("twitch_tokens").document(channel).update({"refresh_token": "revoked-refresh"})
    health = functions.validate()["clips_auth"]
    assert health["clips_token_valid"] is False
    assert "Reconnect Twitch" in health["last_error"]
    before = len(sim.calls)
    job = approve_moment(db, channel)
    failed = wait_for_job(db, job.job_id)
    assert failed.error_code is ErrorCode.UNAUTHORIZED
    assert "Reconnect Twitch" in failed.error_detail
    assert [c for c in sim.calls[before:] if c.path.startswith("/helix/")] == []
