"""The operators' app through Streamlit's AppTest, against the real Firestore emulator.

Every page and every action: login before data, queue approve/reject/bulk reject, jobs with
links and a limited retry, control plane persistence and history, health, connect and
disconnect with the Helix simulator, manual clip validation, and a Firestore outage.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import streamlit as st
from google.cloud import firestore
from streamlit.testing.v1 import AppTest

from local.helix_simulator import HelixSimulator
from shared.connect.flow import make_state
from shared.domain.clip_job import JobStatus
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue, ActionStatus
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TwitchTokenStore
from streamlit_app import actions, auth, formatting
from tests import app_pages
from tests import spec_documents as spec
from tests.app_pages import APP, TEXT_ELEMENTS, fresh_app
from tests.factories import clips_auth, live_fields, vod_fields

PASSWORD = "correct horse battery staple"
OPERATOR = "Ann Operator"
CLIENT_ID, CLIENT_SECRET = "cid-streamlit", "streamlit-client-secret-123"

QUEUE, JOBS, MANUAL = "views/queue.py", "views/jobs.py", "views/manual_clip.py"
CONTROL, HEALTH, CONNECT = "views/control_plane.py", "views/health.py", "views/connect_twitch.py"


def page_text(at: AppTest) -> str:
    """Everything a person could read on the page, as one string."""
    parts: list[str] = []
    for kind in (*TEXT_ELEMENTS, "code", "exception"):
        parts += [str(element.value) for element in at.get(kind)]
    parts += [f"{metric.label}: {metric.value}" for metric in at.metric]
    parts += [button.label for button in at.button]
    return "\n".join(parts)


def log_in(at: AppTest, name: str = OPERATOR, password: str = PASSWORD) -> AppTest:
    return app_pages.log_in(at, name, password)


@pytest.fixture
def open_app(
    db: firestore.Client, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., AppTest]]:
    """A logged-in AppTest on a page; `query` simulates the URL's query string."""
    fresh_app(monkeypatch, PASSWORD)
    monkeypatch.setattr(auth, "WRONG_PASSWORD_DELAY_SECONDS", 0.0)

    def open_page(page: str | None = None, *, query: dict[str, str] | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params.update(query or {})
        log_in(at.run())
        if page:
            at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield open_page
    st.cache_resource.clear()


def enqueue(db: firestore.Client, age: float = 5.0, **changes: Any) -> str:
    """A pending candidate whose moment was `age` seconds ago."""
    moment = datetime.now(UTC) - timedelta(seconds=age)
    fields = live_fields(source_ts=moment.isoformat(), **changes)
    return ActionQueue(db).submit(fields).action_id


def rerun_until(at: AppTest, check: Callable[[], bool], timeout: float = 10.0) -> AppTest:
    """Run the page again until `check` holds: the live pages show what their Firestore
    listener has delivered, a few milliseconds after a write."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the page never showed the change"
        time.sleep(0.05)
        at.run()
    return at


def job_count(db: firestore.Client) -> int:
    return len(list(db.collection("clip_jobs").stream()))


# --------------------------------------------------------------------------------- login


def test_nothing_renders_before_login_and_a_wrong_password_stays_out(open_app, db, monkeypatch):
    enqueue(db, suggested_title="Secret moment title")
    monkeypatch.setenv("DASHBOARD_PASSWORD", PASSWORD)
    monkeypatch.setattr(auth, "WRONG_PASSWORD_DELAY_SECONDS", 0.0)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert "Secret moment title" not in page_text(at)
    assert [t.value for t in at.title] == ["Byte Clips operations"]
    assert not at.get("page_link") and "Queue" not in page_text(at)

    log_in(at, password="wrong password")
    assert "Wrong password" in page_text(at)
    assert "Secret moment title" not in page_text(at)
    assert "auth_operator" not in at.session_state

    log_in(at, name="   ")
    assert "Enter your name" in page_text(at)

    log_in(at)
    assert "Secret moment title" in page_text(at)
    assert f"Logged in as **{OPERATOR}**" in [c.value for c in at.sidebar.caption]


def test_without_any_login_configured_the_app_only_explains_how(db, monkeypatch):
    enqueue(db, suggested_title="Secret moment title")
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=30).run()
    text = page_text(at)
    assert "Login is not configured" in text and "DASHBOARD_PASSWORD" in text
    assert "Secret moment title" not in text
    assert not at.text_input and not at.button


def test_oidc_login_when_secrets_have_an_auth_section(db, monkeypatch):
    action_id = enqueue(db, suggested_title="Secret moment title")
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    secrets = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "client_id": "x"}}
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = secrets
    at.user = {"is_logged_in": False}
    at.run()
    assert "Secret moment title" not in page_text(at)
    assert "Log in" in page_text(at) or "Authlib" in page_text(at)

    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = secrets
    at.user = {"is_logged_in": True, "email": "op@example.com", "name": "Op"}
    at.run()
    assert "Secret moment title" in page_text(at)
    at.button(key=f"approve_{action_id}").click().run()
    assert ActionQueue(db).require(action_id).decided_by == "op@example.com"


def test_changing_the_password_ends_sessions_before_any_button_acts(open_app, db, monkeypatch):
    action_id = enqueue(db)
    at = open_app()
    monkeypatch.setenv("DASHBOARD_PASSWORD", "a new password")
    at.button(key=f"approve_{action_id}").click().run()
    assert job_count(db) == 0
    assert ActionQueue(db).require(action_id).status is ActionStatus.PENDING
    assert "Log in to see" in page_text(at) and action_id not in page_text(at)


# --------------------------------------------------------------------------------- queue


def test_queue_shows_pending_newest_first_with_moment_age_and_ids(open_app, db):
    queue = ActionQueue(db)
    now = datetime.now(UTC)
    older = queue.submit(
        live_fields(source_ts=(now - timedelta(seconds=20)).isoformat(), suggested_title="Older"),
        now=now - timedelta(seconds=10),
    ).action_id
    newer = queue.submit(
        live_fields(
            source_ts=(now - timedelta(seconds=4)).isoformat(),
            suggested_title="Newer",
            source="keyword",
            score=0.42,
            context_excerpt="chat went wild",
        ),
        now=now,
    ).action_id
    at = open_app()
    headings = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert headings == ["#### Newer", "#### Older"]
    text = page_text(at)
    assert "2 pending" in text
    assert "Keyword" in text and "score 42%" in text and "> chat went wild" in text
    assert "s ago**" in text
    assert f"Action id: `{newer}`" in text and f"Action id: `{older}`" in text
    assert at.number_input(key=f"duration_{newer}").value == 30.0
    assert at.number_input(key=f"duration_{newer}").step == 0.1


def test_approve_with_edits_creates_exactly_one_job(open_app, db):
    action_id = enqueue(db)
    at = open_app()
    at.text_input(key=f"title_{action_id}").input("Edited title")
    at.number_input(key=f"duration_{action_id}").set_value(12.3)
    at.button(key=f"approve_{action_id}").click().run()

    assert "Approved. Job" in page_text(at)
    jobs = list(db.collection("clip_jobs").stream())
    assert len(jobs) == 1
    job = ClipJobStore(db).require(jobs[0].id)
    assert (job.action_id, job.status, job.requested_title) == (
        action_id,
        JobStatus.QUEUED,
        "Edited title",
    )
    assert job.requested_duration == 12.3 and job.approved_by == OPERATOR
    assert ActionQueue(db).require(action_id).status is ActionStatus.APPROVED
    assert f"title_{action_id}" not in [t.key for t in at.text_input]

    queue, jobs = ActionQueue(db), ClipJobStore(db)
    again = actions.approve_candidate(queue, jobs, action_id, by="Ben", title=None, duration=30.0)
    assert again.level == "warning" and f"already approved by {OPERATOR}" in again.message
    assert job_count(db) == 1


def connect_factory_channel(db: firestore.Client, sim: HelixSimulator) -> str:
    """The factories' channel (12345) on the simulator, its token stored; returns the token."""
    access, refresh = sim.add_user("12345", "streamer", client_id=CLIENT_ID, scopes=CONNECT_SCOPES)
    grant = TokenGrant(access_token=access, refresh_token=refresh, expires_in=14400, scopes=())
    TwitchTokenStore(db).save_grant(grant, user_id="12345", login="streamer", client_id=CLIENT_ID)
    st.cache_data.clear()
    return access


def test_each_live_candidate_shows_what_approving_now_makes(open_app, db, twitch_env):
    connect_factory_channel(db, twitch_env)
    twitch_env.start_broadcast("12345", started_ago=3600)
    enqueue(db, age=5, suggested_title="Fresh")
    enqueue(db, age=40, suggested_title="Late")
    old = enqueue(db, age=200, suggested_title="Old")
    at = open_app()
    text = page_text(at)
    assert "Approving now makes: **live 30 s**" in text
    assert re.search(r"Approving now makes: \*\*live extended to 5[2-7] s\*\*", text)
    assert "Approving now makes: **VOD at 0:56:" in text
    assert not [box for box in at.checkbox if box.key.startswith("old_")]
    at.button(key=f"approve_{old}").click().run()
    assert "Approved. Job" in page_text(at)
    assert job_count(db) == 1


def test_a_candidate_no_clip_can_hold_says_so(open_app, db, twitch_env):
    access = connect_factory_channel(db, twitch_env)
    enqueue(db, age=5)
    at = open_app()
    assert any("cannot contain the moment: the channel is not live" in e.value for e in at.error)
    assert access not in page_text(at)


def test_without_twitch_settings_the_queue_says_it_cannot_tell(open_app, db):
    st.cache_data.clear()
    enqueue(db, age=5)
    at = open_app()
    assert any("cannot tell yet" in w.value and "TWITCH_CLIENT_ID" in w.value for w in at.warning)


def test_bad_approval_edits_show_the_fields_error_and_create_nothing(open_app, db):
    moment = datetime.now(UTC).isoformat()
    fields = vod_fields(source_ts=moment, vod_offset=20.0, suggested_duration=10.0)
    action_id = ActionQueue(db).submit(fields).action_id
    at = open_app()
    at.number_input(key=f"duration_{action_id}").set_value(30.0)
    at.button(key=f"approve_{action_id}").click().run()
    assert "Not approved: fix the fields" in page_text(at)
    assert any("Duration must not exceed the VOD offset" in e.value for e in at.error)
    assert job_count(db) == 0
    assert ActionQueue(db).require(action_id).status is ActionStatus.PENDING


def test_reject_one(open_app, db):
    action_id = enqueue(db)
    at = open_app()
    at.button(key=f"reject_{action_id}").click().run()
    assert "Rejected candidate" in page_text(at)
    item = ActionQueue(db).require(action_id)
    assert (item.status, item.decided_by) == (ActionStatus.REJECTED, OPERATOR)
    assert job_count(db) == 0
    assert "Nothing is waiting for approval" in page_text(at)


def test_bulk_reject_rejects_only_the_selected(open_app, db):
    ids = [enqueue(db, suggested_title=f"Moment {n}", age=5 + n) for n in range(3)]
    at = open_app()
    assert at.button(key="reject_selected").disabled
    at.checkbox(key=f"pick_{ids[0]}").check()
    at.checkbox(key=f"pick_{ids[2]}").check().run()
    at.text_input(key="bulk_reason").input("spam")
    at.button(key="reject_selected").click().run()
    assert "Rejected 2 candidates." in page_text(at)
    queue = ActionQueue(db)
    assert [queue.require(a).status for a in ids] == [
        ActionStatus.REJECTED,
        ActionStatus.PENDING,
        ActionStatus.REJECTED,
    ]
    assert queue.require(ids[0]).decision_reason == "spam"

    at.button(key="select_all").click().run()
    at.button(key="reject_selected").click().run()
    assert queue.require(ids[1]).status is ActionStatus.REJECTED
    assert job_count(db) == 0


def test_queue_says_when_a_switch_is_off(open_app, db):
    ControlPlaneStore(db).write({"clip_api_enabled": False}, by="Ben")
    at = open_app()
    assert any("rollback switch" in w.value for w in at.warning)


# ---------------------------------------------------------------------------------- jobs


def make_job(db: firestore.Client, status: JobStatus, **fields: Any) -> str:
    action_id = enqueue(db, suggested_title=f"{status.value} clip {len(fields)}")
    job = approve(ActionQueue(db), ClipJobStore(db), action_id, by="Ben")
    if status is not JobStatus.QUEUED or fields:
        db.collection("clip_jobs").document(job.job_id).update({"status": status.value, **fields})
    return job.job_id


def test_jobs_page_shows_every_status_ids_and_links(open_app, db):
    ready = make_job(
        db,
        JobStatus.READY,
        twitch_clip_id="Clip1",
        edit_url="https://clips.twitch.tv/Clip1/edit",
        clip_url="https://clips.twitch.tv/Clip1",
        thumbnail_url="https://example.test/Clip1.jpg",
        landscape_download_url="https://example.test/Clip1-l.mp4",
        portrait_download_url="https://example.test/Clip1-p.mp4",
        ready_at=datetime.now(UTC),
    )
    queued = make_job(db, JobStatus.QUEUED)
    polling = make_job(db, JobStatus.POLLING, edit_url="https://clips.twitch.tv/Clip2/edit")
    at = open_app(JOBS)
    text = page_text(at)
    for job_id in (ready, queued, polling):
        action_id = ClipJobStore(db).require(job_id).action_id
        assert f"Job id: `{job_id}`  \nAction id: `{action_id}`" in text
    assert "Queued (1)" in text and "Ready (1)" in text and "Waiting for Twitch (1)" in text
    assert "https://clips.twitch.tv/Clip1" in [c.value for c in at.code]
    urls = {b.proto.label: b.proto.url for b in at.get("link_button")}
    assert urls["Download landscape"] == "https://example.test/Clip1-l.mp4"
    assert urls["Download portrait"] == "https://example.test/Clip1-p.mp4"
    assert {b.proto.url for b in at.get("link_button") if b.proto.label == "Open edit page"} == {
        "https://clips.twitch.tv/Clip1/edit",
        "https://clips.twitch.tv/Clip2/edit",
    }
    assert [i.value for i in at.get("image")] == [["https://example.test/Clip1.jpg"]]

    at.segmented_control(key="jobs_status").set_value("ready").run()
    assert f"Job id: `{ready}`" in page_text(at) and f"Job id: `{queued}`" not in page_text(at)


def test_jobs_page_says_when_the_rollback_switch_holds_download_links(open_app, db):
    make_job(db, JobStatus.READY, twitch_clip_id="Clip3", ready_at=datetime.now(UTC))
    held = "clip_api_enabled is off: 1 ready clip waits for download links"
    assert not [w for w in open_app(JOBS).warning if held in w.value]
    ControlPlaneStore(db).write({"clip_api_enabled": False}, by="Ben")
    assert [w for w in open_app(JOBS).warning if held in w.value]


def test_failed_job_explains_itself_and_retry_respects_the_limit(open_app, db):
    ControlPlaneStore(db).write({"max_manual_retries": 1}, by="Ben")
    job_id = make_job(
        db,
        JobStatus.FAILED,
        error_code="clip_not_found",
        error_detail="Twitch answered 404: the channel is not live.",
    )
    at = open_app(JOBS)
    text = page_text(at)
    assert "**clip_not_found**: Twitch answered 404: the channel is not live." in text
    assert "What to do:** Twitch could not find what the clip needs" in text
    assert "0 of 1 manual retries used, 1 left." in text

    at.button(key=f"retry_{job_id}").click().run()
    assert "is queued again (manual retry 1 of 1)" in page_text(at)
    job = ClipJobStore(db).require(job_id)
    assert (job.status, job.manual_retries, job.error_code) == (JobStatus.QUEUED, 1, None)

    db.collection("clip_jobs").document(job_id).update(
        {"status": "failed", "error_code": "clip_unknown", "error_detail": "Twitch 503 x3."}
    )
    rerun_until(at, lambda: "Twitch 503 x3." in page_text(at))
    assert f"retry_{job_id}" not in [b.key for b in at.button]
    assert "The retry limit is reached (1 of 1 manual retries used)" in page_text(at)
    refused = actions.retry_job(ClipJobStore(db), job_id, by=OPERATOR, limit=1)
    assert refused.level == "warning" and "already used all 1 manual retries" in refused.message
    assert ClipJobStore(db).require(job_id).status is JobStatus.FAILED


# ------------------------------------------------------------------------- control plane


def test_flags_persist_and_the_history_shows_who(open_app, db):
    at = open_app(CONTROL)
    assert "Never changed" in page_text(at)
    version = "defaults"
    at.toggle(key=f"cp_clip_api_enabled_{version}").set_value(False)
    at.number_input(key=f"cp_max_manual_retries_{version}").set_value(5)
    at.button(key="cp_save").click().run()
    assert "Saved clip_api_enabled, max_manual_retries" in page_text(at)

    config = ControlPlaneStore(db).read(fresh=True)
    assert (config.clip_api_enabled, config.max_manual_retries) == (False, 5)
    assert config.updated_by == OPERATOR
    history = at.dataframe[0].value
    assert list(history["who"]) == [OPERATOR]
    assert "Twitch clip API on: on → off" in history["what changed"][0]
    assert "Manual retries per job: 3 → 5" in history["what changed"][0]

    fresh = open_app(CONTROL)
    key = f"cp_clip_api_enabled_{config.updated_at.isoformat()}"
    assert fresh.toggle(key=key).value is False
    assert f"Last changed by **{OPERATOR}**" in page_text(fresh)


def test_an_invalid_setting_is_shown_at_its_field_and_nothing_is_saved(open_app, db):
    at = open_app(CONTROL)
    at.text_input(key="cp_clip_editor_user_id_defaults").input("bytestreamer")
    at.button(key="cp_save").click().run()
    assert "Not saved" in page_text(at)
    assert any(e.value.startswith("Clip editor user id: must be the numeric") for e in at.error)
    assert not db.collection("control_plane").document("config").get().exists


def test_a_chat_setting_is_saved_with_who_and_when(open_app, db):
    at = open_app(CONTROL)
    at.number_input(key="cp_chat.spike_multiplier_defaults").set_value(4.5)
    at.multiselect(key="cp_chat.clip_command_roles_defaults").unselect("subscriber")
    at.button(key="cp_save").click().run()
    saved = next(line for line in page_text(at).splitlines() if line.startswith("Saved "))
    assert "spike_multiplier" in saved and "clip_command_roles" in saved

    config = ControlPlaneStore(db).read(fresh=True)
    assert config.chat.spike_multiplier == 4.5
    assert config.chat.clip_command_roles == ("moderator", "vip")
    assert config.updated_by == OPERATOR and config.updated_at is not None
    history = at.dataframe[0].value
    assert list(history["who"]) == [OPERATOR]
    assert "UTC" in history["when"][0]
    assert "Spike multiplier: 3.0 → 4.5" in history["what changed"][0]
    assert "moderator, vip, subscriber → moderator, vip" in history["what changed"][0]

    fresh = open_app(CONTROL)
    key = f"cp_chat.spike_multiplier_{config.updated_at.isoformat()}"
    assert fresh.number_input(key=key).value == 4.5


def test_a_stored_has_delay_is_ignored_with_a_note_and_offered_nowhere(open_app, db):
    note = "clip_has_delay is stored but ignored: Twitch removed has_delay from Create Clip"
    assert note not in page_text(open_app(CONTROL))
    db.collection("control_plane").document("config").set({"clip_has_delay": True})
    at = open_app(CONTROL)
    assert note in [i.value for i in at.info]
    assert not [t for t in at.toggle if "has_delay" in (t.key or "")]
    enqueue(db, suggested_title="Delay check")
    queue = open_app(QUEUE)
    assert "has_delay" not in page_text(queue)
    assert not [c for c in queue.checkbox if "has_delay" in c.label]


def test_a_bad_chat_setting_is_refused_at_its_field_and_nothing_is_saved(open_app, db):
    at = open_app(CONTROL)
    at.text_area(key="cp_chat.keywords_defaults").input("pog = 20\nkekw")
    at.button(key="cp_save").click().run()
    assert "Not saved" in page_text(at)
    assert any(
        e.value.startswith("Keywords and weights: the weight of 'pog' must be above 0")
        for e in at.error
    )
    assert not db.collection("control_plane").document("config").get().exists


# -------------------------------------------------------------------------------- health


def test_health_shows_auth_switches_counts_and_charts(open_app, db):
    now = datetime.now(UTC)
    ClipsAuthStore(db).write_clips_auth(
        clips_auth(
            clips_scope_ok=False,
            missing_scopes=["editor:manage:clips or channel:manage:clips"],
            last_validated_at=now - timedelta(minutes=3),
            last_error="token lacks a scope",
        )
    )
    ControlPlaneStore(db).write({"clip_pipeline_enabled": False}, by="Ben")
    make_job(db, JobStatus.QUEUED)
    ready = ClipJobStore(db).require(make_job(db, JobStatus.READY, clip_url="https://x.test/X"))
    db.collection("clip_jobs").document(ready.job_id).update(
        {"ready_at": ready.approved_at + timedelta(seconds=8)}
    )
    make_job(db, JobStatus.FAILED, error_code="clip_forbidden", error_detail="403")
    at = open_app(HEALTH)
    text = page_text(at)
    assert "Token: valid" in text and "Clip scopes: MISSING" in text
    assert "Last check: 3 min" in text and "Expires: in 1 h 5" in text
    assert "The token lacks editor:manage:clips or channel:manage:clips" in text
    assert "Last error: token lacks a scope" in text
    assert "Clip pipeline: OFF" in text and "Twitch clip API: on" in text
    assert "Queued: 1" in text and "Ready: 1" in text and "Failed: 1" in text
    assert "Creating: 0" in text
    assert len(at.get("vega_lite_chart")) == 2
    assert "approval → ready, median: 8.0 s" in text


def test_health_before_any_token_check_says_what_to_do(open_app):
    at = open_app(HEALTH)
    text = page_text(at)
    assert "No token check has run yet" in text
    assert "No jobs approved in this time." in text


# ------------------------------------------------------------------------ connect Twitch


@pytest.fixture
def sim() -> Iterator[HelixSimulator]:
    with HelixSimulator() as simulator:
        simulator.add_app(CLIENT_ID, CLIENT_SECRET)
        yield simulator


@pytest.fixture
def twitch_env(
    sim: HelixSimulator, open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> HelixSimulator:
    """The simulator's Twitch settings, set after `open_app` cleared the environment."""
    monkeypatch.setenv("TWITCH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TWITCH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TWITCH_AUTH_BASE", sim.auth_base)
    monkeypatch.setenv("TWITCH_API_BASE", sim.api_base)
    monkeypatch.setenv("TWITCH_BROADCASTER_ID", "777")
    return sim


def test_connect_flow_with_the_simulator(open_app, db, twitch_env):
    sim = twitch_env
    access, refresh = sim.add_user("777", "editorperson", client_id=CLIENT_ID, scopes=[])
    sim.authorize_as("777")
    at = open_app(CONNECT)
    assert "Twitch is not connected" in page_text(at)
    [link] = [b for b in at.get("link_button") if b.proto.label == "Connect with Twitch"]
    landed = requests.get(link.proto.url, allow_redirects=False, timeout=5).headers["Location"]
    assert landed.startswith("http://localhost:8501/?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(landed).query).items()}

    back = open_app(query=query)
    text = page_text(back)
    assert "Connected editorperson: live clips, VOD clips and downloads are allowed." in text
    assert "Connect Twitch" in [t.value for t in back.title]
    assert "code" not in back.query_params and "state" not in back.query_params
    stored = TwitchTokenStore(db).get("777")
    assert stored is not None and set(stored.scopes) == set(CONNECT_SCOPES)
    assert "#### editorperson" in text and "broadcaster, creates the clips" in text
    for secret in (stored.access_token, stored.refresh_token, CLIENT_SECRET, access, refresh):
        assert secret not in text


def test_a_forged_or_refused_redirect_connects_nothing(open_app, db, twitch_env):
    forged = open_app(query={"code": "abc", "state": make_state("someone-else")})
    assert "Not connected: the sign-in answer is not one we started" in page_text(forged)
    refused = open_app(query={"error": "access_denied", "state": make_state(CLIENT_SECRET)})
    assert "was not granted (access_denied)" in page_text(refused)
    assert TwitchTokenStore(db).user_ids() == []
    assert twitch_env.count("POST", "/oauth2/token") == 0


def test_disconnect_deletes_the_tokens(open_app, db, twitch_env):
    grant = TokenGrant(
        access_token="stored-access-token-1",
        refresh_token="stored-refresh-token-1",
        expires_in=3600,
        scopes=CONNECT_SCOPES,
    )
    TwitchTokenStore(db).save_grant(grant, user_id="777", login="editorperson", client_id=CLIENT_ID)
    ControlPlaneStore(db).write({"clip_editor_user_id": "888"}, by="Ben")
    at = open_app(CONNECT)
    assert "stored-access-token-1" not in page_text(at)
    assert "The account that creates clips (user id 888, the clip editor)" in page_text(at)
    at.button(key="disconnect_777").click().run()
    assert "Disconnect editorperson?" in page_text(at)
    assert TwitchTokenStore(db).get("777") is not None
    at.button(key="disconnect_yes_777").click().run()
    assert "Disconnected editorperson" in page_text(at)
    assert TwitchTokenStore(db).get("777") is None
    assert "Twitch is not connected" in page_text(at)


def test_connect_page_without_twitch_settings_says_how_to_set_them(open_app):
    at = open_app(CONNECT)
    assert "Connecting needs TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET" in page_text(at)
    assert not at.get("link_button")


# --------------------------------------------------------------------------- manual clip


def test_bad_manual_input_shows_each_fields_error_and_writes_nothing(open_app, db):
    at = open_app(MANUAL)
    at.radio(key="manual_mode").set_value("vod").run()
    at.text_input(key="manual_broadcaster_id").input("bytestreamer")
    at.text_input(key="manual_vod_id").input("900001")
    at.text_input(key="manual_vod_offset").input("soon")
    at.button(key="manual_submit").click().run()
    errors = [e.value for e in at.error]
    assert "Not queued: fix the fields marked below. Nothing was saved." in page_text(at)
    assert any(e.startswith("Clip end must be a position like 1:02:03") for e in errors)
    assert not list(db.collection("action_queue").stream())

    at.text_input(key="manual_broadcaster_id").input("12345")
    at.text_input(key="manual_vod_offset").input("0:20")
    at.button(key="manual_submit").click().run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("Clip end must be at least the duration (30 s)") for e in errors)
    assert not any(e.startswith("Channel") for e in errors)
    assert not list(db.collection("action_queue").stream())


def test_manual_clip_from_a_login_name_is_refused_at_the_channel_field(open_app, db):
    at = open_app(MANUAL)
    at.text_input(key="manual_broadcaster_id").input("bytestreamer")
    at.button(key="manual_submit").click().run()
    assert any(
        e.value.startswith("Channel must be the numeric Twitch broadcaster") for e in at.error
    )
    assert not list(db.collection("action_queue").stream())


def test_manual_live_and_vod_clips_are_queued(open_app, db):
    at = open_app(MANUAL)
    at.radio(key="manual_moment").set_value("seconds_ago").run()
    at.text_input(key="manual_broadcaster_id").input("12345")
    at.text_input(key="manual_title").input("Operator's pick")
    at.number_input(key="manual_seconds_ago").set_value(12)
    at.button(key="manual_submit").click().run()
    assert "Queued as cc_" in page_text(at)
    [item] = ActionQueue(db).list_pending()
    payload = item.payload
    assert (payload.source, payload.mode, payload.suggested_title) == (
        "manual",
        "live",
        "Operator's pick",
    )
    age = (datetime.now(UTC) - payload.source_ts).total_seconds()
    assert 11 <= age <= 20

    at.radio(key="manual_mode").set_value("vod").run()
    at.text_input(key="manual_broadcaster_id").input("12345")
    at.text_input(key="manual_vod_id").input("900001")
    at.text_input(key="manual_vod_offset").input("1:02:03")
    at.text_input(key="manual_title").input("From the VOD")
    at.button(key="manual_submit").click().run()
    vod = next(i.payload for i in ActionQueue(db).list_pending() if i.payload.mode == "vod")
    assert (vod.vod_id, vod.vod_offset) == ("900001", 3723.0)

    at.button(key="manual_submit").click().run()
    assert "Already in the queue" in page_text(at)
    assert len(ActionQueue(db).list_pending()) == 2


def test_manual_clip_is_refused_while_the_pipeline_is_off(open_app, db):
    ControlPlaneStore(db).write({"clip_pipeline_enabled": False}, by="Ben")
    at = open_app(MANUAL)
    at.text_input(key="manual_broadcaster_id").input("12345")
    at.button(key="manual_submit").click().run()
    assert "Not queued: the clip pipeline is switched off" in page_text(at)
    assert not list(db.collection("action_queue").stream())


# ---------------------------------------------------------------------------- failures


@pytest.mark.parametrize("page", [QUEUE, JOBS, MANUAL, CONTROL, HEALTH, CONNECT])
def test_an_unreachable_firestore_says_what_to_do_on_every_page(open_app, monkeypatch, page):
    at = open_app()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    at.switch_page(page).run()
    assert not at.exception
    assert "The Firestore emulator at 127.0.0.1:9 does not answer" in page_text(at)


# --------------------------------------------------------------------- foreign documents

PAGES = (QUEUE, JOBS, MANUAL, CONTROL, HEALTH, CONNECT)


def assert_no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    text = page_text(at)
    for internal in ("Traceback", "ValidationError", "site-packages", '.py"'):
        assert internal not in text


def test_every_page_renders_foreign_documents_and_flags_each_unreadable_one(open_app, db):
    written = spec.write_foreign(db)
    at = open_app()
    texts, buttons = {}, {}
    for page in PAGES:
        at.switch_page(page).run()
        assert_no_traceback(at)
        texts[page] = page_text(at)
        buttons[page] = {b.key for b in at.button}
    for page in (QUEUE, JOBS, MANUAL, CONTROL, HEALTH):
        assert "control_plane/config) has settings this app cannot read" in texts[page]
        assert "clip_api_enabled" in texts[page]

    queue = texts[QUEUE]
    assert "#### Minimal SPEC candidate" in queue and "3 pending** (2 unreadable)" in queue
    assert f"action_queue/{written.wrong_item} is unreadable: payload.score" in queue
    assert "kind is 'poll', not clip_candidate" in queue
    assert "What to do: archive it" in queue
    archive_keys = {key for key in buttons[QUEUE] if (key or "").startswith("archive_")}
    assert archive_keys == {f"archive_{written.wrong_item}", f"archive_{written.kind_item}"}

    jobs = texts[JOBS]
    assert f"Job id: `{written.minimal_job}`" in jobs and "SpecClip" in jobs
    assert f"clip_jobs/{written.wrong_job} is unreadable: attempts" in jobs

    health = texts[HEALTH]
    assert "observability/clips_auth is unreadable: last_validated_at" in health
    assert "Twitch clip API: OFF" in health

    connect = texts[CONNECT]
    assert "#### specstreamer" in connect
    assert f"user {written.wrong_token} is unreadable: scopes" in connect
    assert f"disconnect_{written.wrong_token}" in buttons[CONNECT]
    for token in ("spec-access-token-123456", "spec-refresh-token-123456"):
        assert token not in "".join(texts.values())

    control = texts[CONTROL]
    assert "Twitch clip API on: must be true or false" in control


def test_a_spec_minimal_item_is_approved_from_the_queue(open_app, db):
    spec.write_foreign(db, broken_singletons=False)
    at = open_app()
    assert "#### Minimal SPEC candidate" in page_text(at)
    at.button(key=f"approve_{spec.MINIMAL_ITEM}").click().run()
    assert f"Approved. Job job_{spec.MINIMAL_ITEM} is queued" in page_text(at)
    job = ClipJobStore(db).require(f"job_{spec.MINIMAL_ITEM}")
    assert (job.action_id, job.approved_by) == (spec.MINIMAL_ITEM, OPERATOR)
    assert "#### Minimal SPEC candidate" not in page_text(at)


def test_an_unreadable_item_is_archived_from_the_queue(open_app, db):
    spec.write_foreign(db)
    at = open_app()
    at.button(key=f"archive_{spec.KIND_ITEM}").click().run()
    assert f"Archived item {spec.KIND_ITEM} as rejected" in page_text(at)
    assert f"archive_{spec.KIND_ITEM}" not in [b.key for b in at.button]
    stored = db.document(f"action_queue/{spec.KIND_ITEM}").get().to_dict()
    assert (stored["status"], stored["decided_by"]) == ("rejected", OPERATOR)
    assert ActionQueue(db).decision_ref(spec.KIND_ITEM).get().exists
    assert "#### Minimal SPEC candidate" in page_text(at)


def test_minimal_singletons_render_as_they_are(open_app, db):
    spec.write_foreign(db, broken_singletons=False)
    at = open_app(HEALTH)
    assert_no_traceback(at)
    text = page_text(at)
    assert "Account: **specstreamer**" in text and "Token: valid" in text
    assert "cannot read" not in text and "unreadable" not in text
    control = open_app(CONTROL)
    assert control.radio(key="cp_clip_mode_default_defaults").value == "vod"
    assert "cannot read" not in page_text(control)


def test_a_refused_control_plane_setting_is_repaired_from_its_page(open_app, db):
    spec.write_foreign(db)
    at = open_app(CONTROL)
    assert at.toggle(key="cp_clip_api_enabled_defaults").value is False
    at.toggle(key="cp_clip_api_enabled_defaults").set_value(True)
    at.button(key="cp_save").click().run()
    assert "Saved clip_api_enabled" in page_text(at)
    config = ControlPlaneStore(db).read(fresh=True)
    assert config.clip_api_enabled is True and config.updated_by == OPERATOR
    assert "cannot read" not in page_text(open_app(CONTROL))


def test_an_unexpected_error_shows_a_reference_and_logs_the_traceback(
    open_app, db, monkeypatch, caplog
):
    enqueue(db, suggested_title="Breaks the card")
    at = open_app()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail /srv/app/secret_path.py")

    monkeypatch.setattr(formatting, "candidate_view", broken)
    at.run()
    assert_no_traceback(at)
    text = page_text(at)
    found = re.search(
        r"Something went wrong while trying to [a-z ]+ \(reference ([0-9a-f]{8})\)", text
    )
    assert found, text
    assert "internal detail" not in text and "RuntimeError" not in text
    [record] = [r for r in caplog.records if getattr(r, "reference", None) == found[1]]
    assert record.exc_info is not None and "internal detail" in str(record.exc_info[1])


def test_the_shipped_config_keeps_error_details_out_of_the_browser():
    """`streamlit run streamlit_app/app.py` from the repository root reads ./.streamlit."""
    root = Path(APP).parents[1]
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    where = re.escape(str(root / ".streamlit" / "config.toml"))
    assert re.search(rf"set in {where}\n+showErrorDetails = false", shown)
