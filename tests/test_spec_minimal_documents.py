"""Documents in SPEC's minimal shape that the other foreign-document tests do not cover, on the
emulator: a `scene_context` with only the documented fields, times another tool wrote as ISO
strings without an offset, and a job without `job_id` seen by the Discord listener.

Each reader either works or names the document and the fix (docs/architecture.md §3); no page
shows "Something went wrong" for them, and the sweeper counts no error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import streamlit as st
from google.cloud import firestore
from streamlit.testing.v1 import AppTest

from local.clip_harness import Functions, approve_moment, connect_channel, wait_for_job
from shared.domain.clip_job import JobStatus
from shared.domain.errors import StoredDocumentUnreadable
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.discord_posts import DiscordPostStore, FinishedJob
from shared.store.scene_context import SceneContextStore
from streamlit_app import auth
from tests import app_pages
from tests import spec_documents as spec
from tests.app_pages import APP, TEXT_ELEMENTS, fresh_app

PASSWORD = "spec minimal password"
JOBS, HEALTH, QUEUE = "views/jobs.py", "views/health.py", "views/queue.py"
TROUBLE = "Something went wrong"


def naive(moment: datetime) -> str:
    """How `datetime.utcnow().isoformat()` writes a UTC time: no offset."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def page_text(at: AppTest) -> str:
    parts = [
        str(getattr(e, "value", "")) for kind in (*TEXT_ELEMENTS, "text") for e in at.get(kind)
    ]
    parts += [f"{metric.label}: {metric.value}" for metric in at.metric]
    return "\n".join(parts)


@pytest.fixture
def open_page(
    db: firestore.Client, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], AppTest]]:
    fresh_app(monkeypatch, PASSWORD)
    monkeypatch.setattr(auth, "WRONG_PASSWORD_DELAY_SECONDS", 0.0)

    def open_one(page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        app_pages.log_in(at.run(), "Ann", PASSWORD)
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield open_one
    st.cache_resource.clear()


# ------------------------------------------------------------------------- scene_context


def test_a_spec_minimal_scene_reads_with_its_document_id(db):
    now = datetime.now(UTC)
    db.collection("scene_context").document(spec.CHANNEL).set(spec.minimal_scene(now))
    scene = SceneContextStore(db).get(spec.CHANNEL)
    assert scene is not None
    assert (scene.broadcaster_id, scene.game, scene.event) == (spec.CHANNEL, "Chess", "victory")
    assert (scene.model, scene.classifier, scene.received_at) == ("", "", None)
    assert [s.broadcaster_id for s in SceneContextStore(db).latest()] == [spec.CHANNEL]


def test_an_unreadable_scene_is_named_and_left_out_of_the_latest(db, caplog):
    now = datetime.now(UTC)
    scenes = db.collection("scene_context")
    scenes.document(spec.CHANNEL).set(spec.minimal_scene(now))
    scenes.document("777").set(spec.minimal_scene(now) | {"event": "goal", "at": now})
    with pytest.raises(StoredDocumentUnreadable, match=r"scene_context/777 is unreadable: event"):
        SceneContextStore(db).get("777")
    for _ in range(2):
        assert [s.broadcaster_id for s in SceneContextStore(db).latest()] == [spec.CHANNEL]
    reports = [r for r in caplog.records if "scene_context/777" in r.getMessage()]
    assert len(reports) == 1 and reports[0].levelno == logging.ERROR
    assert "goal" not in reports[0].getMessage()


def test_the_health_page_shows_a_spec_minimal_scene(open_page, db):
    spec.write_foreign(db, broken_singletons=False)
    text = page_text(open_page(HEALTH))
    assert TROUBLE not in text
    assert f"Last scene, channel {spec.CHANNEL}, captured" in text
    assert "Chess · endgame board · victory (0.90)" in text


# ------------------------------------------------------------- times without an offset


def naive_job(now: datetime, job_id: str, **changes: Any) -> dict[str, Any]:
    job = spec.minimal_job(now) | {"job_id": job_id} | changes
    for name in ("created_at", "updated_at", "ready_at"):
        if isinstance(job[name], datetime):
            job[name] = naive(job[name])
    return job


def test_times_written_without_an_offset_read_as_utc(db):
    now = datetime.now(UTC).replace(microsecond=0)
    db.collection("clip_jobs").document("job_naive").set(naive_job(now, "job_naive"))
    job = ClipJobStore(db).require("job_naive")
    assert job.created_at == now - timedelta(minutes=2)
    assert job.ready_at == now - timedelta(minutes=1) and job.ready_at.tzinfo is not None

    item = spec.minimal_item(now) | {"created_at": naive(now), "updated_at": naive(now)}
    db.collection("action_queue").document("naive-item").set(item)
    stored = ActionQueue(db).require("naive-item")
    assert stored.created_at == now and stored.updated_at == now

    health = spec.minimal_clips_auth(now) | {"last_validated_at": naive(now)}
    db.document("observability/clips_auth").set(health)
    read = ClipsAuthStore(db).read_clips_auth()
    assert read is not None and read.last_validated_at == now


def test_a_job_created_at_an_iso_string_is_found_by_time(db):
    """The Health page's per-hour chart asks for jobs by creation time; a range query sees one
    type only, so a job with a text `created_at` must still be in the answer."""
    now = datetime.now(UTC).replace(microsecond=0)
    jobs = db.collection("clip_jobs")
    jobs.document("job_text_new").set(naive_job(now, "job_text_new"))
    old = now - timedelta(hours=30)
    jobs.document("job_text_old").set(naive_job(old, "job_text_old"))
    dated = spec.minimal_job(now - timedelta(minutes=1)) | {"job_id": "job_dated"}
    jobs.document("job_dated").set(dated)
    found = ClipJobStore(db).created_since(now - timedelta(hours=24))
    assert [job.job_id for job in found] == ["job_text_new", "job_dated"]


def test_pages_show_items_and_jobs_whose_times_have_no_offset(open_page, db):
    now = datetime.now(UTC)
    spec.write_foreign(db, broken_singletons=False)
    db.collection("clip_jobs").document("job_naive").set(naive_job(now, "job_naive"))
    item = spec.minimal_item(now, title="Naive item") | {"created_at": naive(now)}
    item["payload"] = item["payload"] | {"dedupe_key": "naive-item"}
    db.collection("action_queue").document("naive-item").set(item)
    db.document("observability/clips_auth").update({"last_validated_at": naive(now)})
    for page, shown in ((JOBS, "Job id: `job_naive`"), (QUEUE, "Naive item"), (HEALTH, "Token")):
        text = page_text(open_page(page))
        assert TROUBLE not in text, page
        assert shown in text, page


def test_the_sweeper_requeues_a_job_whose_times_have_no_offset(db, sim, functions: Functions):
    connect_channel(sim, db, spec.CHANNEL)
    old = datetime.now(UTC) - timedelta(minutes=5)
    stale = naive_job(
        old,
        "job_naive_queued",
        status="queued",
        twitch_clip_id=None,
        edit_url=None,
        clip_url=None,
        ready_at=None,
        attempts=0,
    )
    db.collection("clip_jobs").document("job_naive_queued").set(stale)
    answer = requests.post(functions.sweeper.url, json={}, timeout=60)
    assert answer.status_code == 200
    report = answer.json()
    assert report["errors"] == [] and report["requeued"] == ["job_naive_queued"]
    assert ClipJobStore(db).require("job_naive_queued").status is JobStatus.QUEUED


# ---------------------------------------------------------------- token check's findings


def test_unreadable_token_findings_hold_no_job_and_are_reported_once(
    db, sim, functions: Functions, relay
):
    """`observability/clips_auth` is only the worker's shortcut: one that does not parse (an
    `expires_in` of 5400.5 from another tool) must not leave every job queued for ever."""
    connect_channel(sim, db, spec.CHANNEL)
    findings = spec.minimal_clips_auth(datetime.now(UTC)) | {"expires_in": 5400.5}
    db.document("observability/clips_auth").set(findings)
    for _ in range(2):
        job = wait_for_job(db, approve_moment(db, spec.CHANNEL).job_id, timeout=20)
        assert job.status is JobStatus.READY, job.error_detail
    log = functions.worker.log_tail(10**9)
    reports = [line for line in log.splitlines() if "observability/clips_auth" in line]
    assert len(reports) == 1 and '"severity": "ERROR"' in reports[0]
    assert "expires_in" in reports[0] and "5400.5" not in reports[0]


# ---------------------------------------------------------------------- Discord listener


def test_the_discord_listener_reads_a_job_without_job_id(db):
    since = datetime.now(UTC) - timedelta(minutes=5)
    seen: list[FinishedJob] = []
    arrived = threading.Event()

    def on_jobs(found: list[FinishedJob]) -> None:
        # Only this document: a job an earlier test's worker is still finishing may show too.
        seen.extend(f for f in found if f.job.job_id == spec.MINIMAL_JOB)
        if seen:
            arrived.set()

    watch = DiscordPostStore(db).watch_finished(since, on_jobs)
    try:
        job = spec.minimal_job(datetime.now(UTC))
        del job["job_id"]
        db.collection("clip_jobs").document(spec.MINIMAL_JOB).set(job)
        assert arrived.wait(10), "the listener never delivered the job"
        assert seen[0].job.status.value == job["status"]
    finally:
        watch.unsubscribe()
