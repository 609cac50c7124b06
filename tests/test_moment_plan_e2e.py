"""Moment-accurate clips end to end: emulator, Helix simulator, functions-framework processes.

The moment's age is set through `source_ts` instead of sleeping; the simulator's channels have been
live for an hour, with the broadcast's archive recording (docs/architecture.md §6.4, 5; issue 11).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import requests

from local.clip_harness import (
    CLIENT_ID,
    approve_moment,
    connect_channel,
    wait_for_job,
)
from local.helix_simulator import HelixSimulator
from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.errors import ErrorCode
from shared.domain.moment_plan import PlanMode
from shared.store.clip_jobs import ClipJobStore

LIVE_CREATE = "/helix/clips"
VOD_CREATE = "/helix/videos/clips"
_ids = iter(range(81_000, 90_000))


def channel_live_for_an_hour(sim: HelixSimulator, db, **broadcast) -> tuple[str, str | None]:
    channel = str(next(_ids))
    connect_channel(sim, db, channel, live=False)
    _, vod_id = sim.start_broadcast(channel, started_ago=3600, **broadcast)
    return channel, vod_id


def approve_aged(db, channel: str, age: float, **fields) -> ClipJob:
    moment = datetime.now(UTC) - timedelta(seconds=age)
    return approve_moment(db, channel, source_ts=moment.isoformat(), **fields)


def creates(sim: HelixSimulator, channel: str, path: str) -> list:
    return [
        c
        for c in sim.calls
        if c.method == "POST" and c.path == path and c.query.get("broadcaster_id") == [channel]
    ]


def test_approved_5_s_after_the_moment_is_the_live_clip_as_asked(db, sim, functions, relay):
    channel, _ = channel_live_for_an_hour(sim, db)
    job = approve_aged(db, channel, 5)
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY, ready.error_detail
    assert (ready.plan_mode, ready.plan_label, ready.planned_duration) == (
        PlanMode.LIVE,
        "live 30 s",
        30,
    )
    assert "holds it with 10 s before and 5 s after" in ready.plan_reason
    [create] = creates(sim, channel, LIVE_CREATE)
    assert create.query["duration"] == ["30"]
    assert creates(sim, channel, VOD_CREATE) == []


def test_a_moment_still_airing_waits_for_its_post_roll(db, sim, functions, relay):
    channel, _ = channel_live_for_an_hour(sim, db)
    job = approve_aged(db, channel, 1)
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY, ready.error_detail
    assert ready.plan_mode is PlanMode.LIVE and "once the 5 s after the moment" in ready.plan_reason
    [create] = creates(sim, channel, LIVE_CREATE)
    assert create.at >= ready.source_ts.timestamp() + 5
    assert create.at - ready.planned_duration <= ready.source_ts.timestamp() - 10


def test_approved_40_s_after_the_moment_is_an_extended_live_clip(db, sim, functions, relay):
    channel, _ = channel_live_for_an_hour(sim, db)
    job = approve_aged(db, channel, 40)
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY, ready.error_detail
    assert ready.plan_mode is PlanMode.LIVE
    assert ready.plan_label == f"live extended to {ready.planned_duration:g} s"
    # 40 s old + 10 s pre-roll + 2 s margin, and the second or so the pipeline took
    assert 52 <= ready.planned_duration <= 55
    [create] = creates(sim, channel, LIVE_CREATE)
    assert create.query["duration"] == [f"{ready.planned_duration:g}"]
    published_from = create.at - ready.planned_duration
    assert published_from <= ready.source_ts.timestamp() - 10


def test_approved_150_s_after_the_moment_is_a_vod_clip_at_the_right_offset(
    db, sim, functions, relay
):
    channel, vod_id = channel_live_for_an_hour(sim, db)
    job = approve_aged(db, channel, 150, suggested_title="Late but right")
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY, ready.error_detail
    assert (ready.plan_mode, ready.vod_id, ready.planned_duration) == (PlanMode.VOD, vod_id, 30)
    moment_at = ready.source_ts.timestamp() - _archive_start(sim, vod_id)
    # the clip ends at the moment + 5 s post-roll, in whole seconds from the archive's start
    assert ready.vod_offset == math.ceil(moment_at + 5)
    assert ready.plan_label.startswith("VOD at 0:57:")
    [create] = creates(sim, channel, VOD_CREATE)
    assert create.query["vod_id"] == [vod_id]
    assert create.query["vod_offset"] == [f"{ready.vod_offset:.0f}"]
    assert create.query["editor_id"] == [channel]
    assert create.query["duration"] == ["30"]
    assert create.query["title"] == ["Late but right"]
    assert creates(sim, channel, LIVE_CREATE) == []


def test_offline_without_archive_fails_with_the_reason_and_no_create(db, sim, functions, relay):
    channel = str(next(_ids))
    connect_channel(sim, db, channel, live=False)
    job = approve_aged(db, channel, 5)
    failed = wait_for_job(db, job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error_code is ErrorCode.NOT_FOUND
    assert failed.plan_mode is PlanMode.IMPOSSIBLE
    assert "not live and has no archive" in failed.error_detail
    assert "Store past broadcasts" in failed.error_detail
    assert failed.plan_label.startswith("cannot contain the moment: ")
    assert creates(sim, channel, LIVE_CREATE) == creates(sim, channel, VOD_CREATE) == []


def test_channel_without_archives_fails_a_moment_too_old_for_live(db, sim, functions, relay):
    channel = str(next(_ids))
    connect_channel(sim, db, channel, live=False)
    sim.configure_channel(channel, archives_disabled=True)
    sim.start_broadcast(channel, started_ago=3600)
    job = approve_aged(db, channel, 150)
    failed = wait_for_job(db, job.job_id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, ErrorCode.NOT_FOUND)
    assert "past broadcasts look switched off" in failed.error_detail
    assert creates(sim, channel, LIVE_CREATE) == creates(sim, channel, VOD_CREATE) == []


def test_a_failing_vod_create_never_falls_back_to_live(db, sim, functions, relay):
    channel, _ = channel_live_for_an_hour(sim, db)
    sim.inject_fault(f"POST {VOD_CREATE}", "status", status=500, times=3)
    job = approve_aged(db, channel, 150)
    failed = wait_for_job(db, job.job_id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, ErrorCode.UNKNOWN)
    assert "No live clip was made instead" in failed.error_detail
    assert failed.plan_mode is PlanMode.VOD
    assert [c.status for c in creates(sim, channel, VOD_CREATE)] == [500, 500, 500]
    assert creates(sim, channel, LIVE_CREATE) == []


def test_an_archive_listed_late_makes_the_job_wait_then_clip_the_vod(db, sim, functions, relay):
    channel = str(next(_ids))
    connect_channel(sim, db, channel, live=False)
    _, vod_id = sim.start_broadcast(channel, started_ago=60, archive_after=64)
    job = approve_aged(db, channel, 55, suggested_title="Early in the stream")
    waiting = wait_for_job(db, job.job_id, lambda j: j.next_attempt_at is not None)
    assert (waiting.status, waiting.plan_mode) == (JobStatus.QUEUED, PlanMode.WAIT)
    assert "has not listed this broadcast's archive yet" in waiting.error_detail
    assert creates(sim, channel, LIVE_CREATE) == creates(sim, channel, VOD_CREATE) == []
    time.sleep(4.5)
    ClipJobStore(db).update_fields(
        job.job_id, {"next_attempt_at": datetime.now(UTC)}, expect={JobStatus.QUEUED}
    )
    assert functions.sweep()["requeued"] == [job.job_id]
    ready = wait_for_job(db, job.job_id)
    assert ready.status is JobStatus.READY, ready.error_detail
    assert (ready.plan_mode, ready.vod_id) == (PlanMode.VOD, vod_id)
    assert ready.vod_offset >= ready.planned_duration
    assert len(creates(sim, channel, VOD_CREATE)) == 1


def test_a_failing_stream_check_makes_no_clip(db, sim, functions, relay):
    channel, _ = channel_live_for_an_hour(sim, db)
    sim.inject_fault("GET /helix/streams", "status", status=503, times=3)
    job = approve_aged(db, channel, 5)
    failed = wait_for_job(db, job.job_id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, ErrorCode.UNKNOWN)
    assert failed.error_detail.startswith("No clip was made: asking Twitch about the stream")
    assert creates(sim, channel, LIVE_CREATE) == creates(sim, channel, VOD_CREATE) == []


def _archive_start(sim: HelixSimulator, vod_id: str | None) -> float:
    """When the archive begins, as Get Videos says it (whole seconds, like Twitch)."""
    token = sim.add_app_token(CLIENT_ID)
    answer = requests.get(
        f"{sim.api_base}/videos",
        params={"id": vod_id},
        headers={"Authorization": f"Bearer {token}", "Client-Id": CLIENT_ID},
        timeout=5,
    ).json()
    return datetime.fromisoformat(answer["data"][0]["created_at"]).timestamp()
