"""Documents this project did not write, and events that can never succeed (docs/architecture.md §3,
4).

A token document with only the documented fields works; one without `refresh_token` works until
a refresh is needed, then fails the job precisely; an unreadable one fails the job with a
reason naming the document and the fix. No entry point answers 500 for any of them, and the
logs of every function process are scanned for every token value: none is ever found. The
rollback switch stops every Helix call, the sweeper's included.
"""

from __future__ import annotations

import itertools
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from local.clip_harness import (
    Functions,
    approve_moment,
    connect_channel,
    job_created_event,
    wait_for_job,
)
from local.helix_simulator import HelixSimulator
from local.trigger_relay import TriggerRelay
from shared.domain.clip_job import JobStatus
from shared.domain.errors import ErrorCode, StoredTokenUnreadable
from shared.logs import JsonFormatter
from shared.pipeline.sweep import SWITCHED_OFF_CONFIRM
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore, in_force
from shared.store.twitch_tokens import read_token

SPEC_FIELDS = ("access_token", "refresh_token", "scopes", "user_id", "login", "expires_at")
HELIX = "/helix/"
_ids = iter(range(81_000, 90_000))

# Each variant breaks one field while the tokens themselves stay readable strings, so a
# message that formats the document would carry them; "inside" hides a token in the bad value.
MALFORMED: dict[str, dict[str, Any]] = {
    "scopes": {"scopes": 7},
    "expires_at": {"expires_at": "soon"},
    "access_token": {"access_token": ["{access}"]},
    "login": {"login": {"inside": "{refresh}"}},
}


def channel_id() -> str:
    return str(next(_ids))


def helix_calls(sim: HelixSimulator, since: int) -> list[Any]:
    return [call for call in sim.calls[since:] if call.path.startswith(HELIX)]


def full_logs(functions: Functions) -> str:
    return "".join(
        server.log_tail(10**9) for server in (functions.worker, functions.sweeper, functions.tokens)
    )


def assert_never_500(functions: Functions, relay: TriggerRelay | None = None) -> None:
    """functions-framework answers 500 with a traceback in its log; none may be there."""
    assert "Traceback" not in functions.worker.log_tail(10**9)
    assert relay is None or relay.failed == 0


def token_document(
    user_id: str, access: str, refresh: str | None, order: tuple[str, ...] = SPEC_FIELDS
) -> dict[str, Any]:
    """Only the documented fields, in `order` (no `obtained_at`, nothing of ours)."""
    values: dict[str, Any] = {
        "access_token": access,
        "refresh_token": refresh,
        "scopes": ["clips:edit", "channel:manage:clips"],
        "user_id": user_id,
        "login": f"user{user_id}",
        "expires_at": datetime.now(UTC) + timedelta(hours=4),
    }
    return {key: values[key] for key in order if values[key] is not None}


def store_document(db, user_id: str, document: dict[str, Any]) -> None:
    """Exactly `document`: deleted first, as the npm emulator's set() keeps unnamed fields."""
    ref = db.collection("twitch_tokens").document(user_id)
    ref.delete()
    ref.set(document)


def malformed(variant: str, document: dict[str, Any], access: str, refresh: str) -> dict:
    broken = {
        key: json.loads(json.dumps(value).replace("{access}", access).replace("{refresh}", refresh))
        for key, value in MALFORMED[variant].items()
    }
    return {key: broken.get(key, value) for key, value in document.items()}


def orders_with(front: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every order of the `front` fields, each followed by the documented remaining fields."""
    rest = tuple(key for key in SPEC_FIELDS if key not in front)
    return [(*order, *rest) for order in itertools.permutations(front)]


# --------------------------------------------------------------- in process, every order


@pytest.mark.parametrize("variant", sorted(MALFORMED))
def test_unreadable_token_is_named_in_every_field_order_without_its_values(variant, caplog):
    access, refresh = "access-1234567890abcdefghijkl", "refresh-1234567890abcdefghij"
    formatter = JsonFormatter()
    logger = logging.getLogger("tests.foreign")
    orders = orders_with(("access_token", "refresh_token", variant))
    orders += list(itertools.permutations(SPEC_FIELDS))[::60]
    for order in orders:
        document = malformed(
            variant, token_document("123", access, refresh, order), access, refresh
        )
        with pytest.raises(StoredTokenUnreadable) as caught:
            read_token("123", document)
        error = caught.value
        assert error.operator_message.startswith(
            "The stored Twitch token for user 123 is unreadable: "
        )
        assert error.operator_message.endswith("; reconnect Twitch")
        assert variant in error.operator_message
        with caplog.at_level(logging.ERROR):
            try:
                raise error
            except StoredTokenUnreadable:
                logger.exception("token problem: %s", error)
        lines = [formatter.format(record) for record in caplog.records]
        text = f"{error} {error!r} {error.args} {' '.join(lines)}"
        assert access not in text and refresh not in text, (variant, order)
        caplog.clear()


def test_spec_minimal_and_refreshless_documents_read_in_every_order():
    for order in itertools.permutations(SPEC_FIELDS):
        token = read_token("123", token_document("123", "a" * 30, "r" * 30, order))
        assert (token.access_token, token.refresh_token, token.obtained_at) == (
            "a" * 30,
            "r" * 30,
            None,
        )
        assert token.owner == "functions"
    bare = read_token("123", {"access_token": "a" * 30, "scope": "x", "scopes": "clips:edit b"})
    assert bare.user_id == "123" and bare.refresh_token is None
    assert bare.scopes == ["clips:edit", "b"]


def test_a_wrong_typed_control_plane_falls_back_to_the_last_good_value_or_off():
    from shared.domain.control_plane import load_config
    from shared.domain.errors import ConfigInvalid

    stored = {"clip_api_enabled": "no", "max_manual_retries": "many", "clip_mode_default": "vod"}
    with pytest.raises(ConfigInvalid) as caught:
        load_config(stored)
    cold = in_force(stored, caught.value, None)
    assert cold.clip_api_enabled is False and cold.clip_mode_default == "vod"
    assert cold.max_manual_retries == load_config(None).max_manual_retries
    good = load_config({"max_manual_retries": 7})
    warm = in_force(stored, caught.value, good)
    assert warm.clip_api_enabled is True and warm.max_manual_retries == 7


def test_a_stored_has_delay_is_ignored_and_can_no_longer_be_set(db):
    from shared.domain.errors import ConfigInvalid

    db.collection("control_plane").document("config").set(
        {"clip_has_delay": True, "clip_mode_default": "vod"}
    )
    store = ControlPlaneStore(db)
    config = store.read(fresh=True)
    assert config.clip_mode_default == "vod" and "clip_has_delay" not in config.model_dump()
    assert store.retired_notes() == [
        "clip_has_delay is stored but ignored: Twitch removed has_delay from Create Clip"
    ]
    with pytest.raises(ConfigInvalid, match="clip_has_delay: is not a control-plane setting"):
        store.write({"clip_has_delay": False}, by="op@example.com")


# --------------------------------------------------------- end to end, through the functions


def test_spec_minimal_token_document_clips(db, sim, functions, relay):
    for order in orders_with(("access_token", "refresh_token"))[:2]:
        channel = channel_id()
        access = connect_channel(sim, db, channel)
        refresh = db.collection("twitch_tokens").document(channel).get().get("refresh_token")
        store_document(db, channel, token_document(channel, access, refresh, order))
        job = approve_moment(db, channel)
        ready = wait_for_job(db, job.job_id)
        assert ready.status is JobStatus.READY, ready.error_detail
        logs = full_logs(functions)
        assert access not in logs and refresh not in logs
    assert_never_500(functions, relay)


def test_token_without_refresh_token_clips_then_fails_a_refresh_precisely(
    db, sim, functions, relay
):
    channel = channel_id()
    access = connect_channel(sim, db, channel)
    spent = db.collection("twitch_tokens").document(channel).get().get("refresh_token")
    store_document(db, channel, token_document(channel, access, None))
    refreshes = sim.count("POST", "/oauth2/token")
    first = wait_for_job(db, approve_moment(db, channel).job_id)
    assert first.status is JobStatus.READY, first.error_detail
    sim.expire_token(access)
    failed = wait_for_job(db, approve_moment(db, channel).job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error_code is ErrorCode.UNAUTHORIZED
    assert failed.error_detail == (
        f"The stored Twitch token for user {channel} cannot be renewed: the document has no "
        "refresh_token; reconnect Twitch"
    )
    answer = requests.post(functions.tokens.url, json={}, timeout=60)
    assert answer.status_code == 200
    assert sim.count("POST", "/oauth2/token") == refreshes
    logs = full_logs(functions) + answer.text
    assert access not in logs and spent not in logs
    assert_never_500(functions, relay)


def test_unreadable_token_documents_fail_the_job_precisely_and_never_leak(
    db, sim, functions, relay
):
    secrets: list[str] = []
    since = len(sim.calls)
    for variant in sorted(MALFORMED):
        for order in orders_with(("access_token", "refresh_token", variant))[::5]:
            channel = channel_id()
            access = connect_channel(sim, db, channel)
            refresh = db.collection("twitch_tokens").document(channel).get().get("refresh_token")
            secrets += [access, refresh]
            document = token_document(channel, access, refresh, order)
            store_document(db, channel, malformed(variant, document, access, refresh))
            failed = wait_for_job(db, approve_moment(db, channel).job_id)
            assert failed.status is JobStatus.FAILED, (variant, order)
            assert failed.error_code is ErrorCode.UNAUTHORIZED
            assert failed.error_detail.startswith(
                f"The stored Twitch token for user {channel} is unreadable: {variant} "
            )
            assert failed.error_detail.endswith("; reconnect Twitch")
    assert helix_calls(sim, since) == []
    sweep = requests.post(functions.sweeper.url, json={}, timeout=60)
    validate = requests.post(functions.tokens.url, json={}, timeout=60)
    assert (sweep.status_code, validate.status_code) == (200, 200)
    checked = {c["user_id"]: c for c in validate.json()["checked"]}
    assert not any(checked[uid]["valid"] for uid in checked)
    assert_never_500(functions, relay)
    logs = full_logs(functions) + sweep.text + validate.text
    assert [secret for secret in secrets if secret in logs] == []


def test_a_wrong_typed_control_plane_document_is_reported_once_and_runs_on(
    db, sim, functions, relay
):
    db.collection("control_plane").document("config").set({"max_rate_limit_retries": "lots"})
    channels = [channel_id(), channel_id()]
    for channel in channels:
        connect_channel(sim, db, channel)
        ready = wait_for_job(db, approve_moment(db, channel).job_id)
        assert ready.status is JobStatus.READY, ready.error_detail
    sweep = requests.post(functions.sweeper.url, json={}, timeout=60)
    assert sweep.status_code == 200
    worker_log = functions.worker.log_tail(10**9)
    reports = [
        line
        for line in worker_log.splitlines()
        if "control_plane/config is unreadable: max_rate_limit_retries" in line
    ]
    assert len(reports) == 1 and '"severity": "ERROR"' in reports[0]
    assert_never_500(functions, relay)


def test_rollback_switch_stops_every_helix_call_of_the_sweeper(db, sim, functions, relay):
    channel = channel_id()
    connect_channel(sim, db, channel)
    linked = wait_for_job(db, approve_moment(db, channel).job_id)
    lost = wait_for_job(db, approve_moment(db, channel).job_id)
    assert linked.status is lost.status is JobStatus.READY
    # The second job's worker "died" after the 202: polling, lease run out, no links yet.
    db.collection("clip_jobs").document(lost.job_id).update(
        {
            "status": "polling",
            "ready_at": None,
            "clip_url": None,
            "lease_holder": "worker-dead",
            "lease_until": datetime.now(UTC) - timedelta(seconds=1),
        }
    )
    ControlPlaneStore(db).write({"clip_api_enabled": False}, by="op@example.com")
    since = len(sim.calls)
    report = functions.sweep()
    again = functions.sweep()
    assert helix_calls(sim, since) == []
    assert report["finished"] == {lost.job_id: "waiting: clip_api_enabled is off"}
    assert again["finished"] == {}
    assert report["held"] == [
        "clip_api_enabled is off: 1 ready clip waits for download links; no Twitch call is "
        "made until it is turned on."
    ]
    assert report["downloads_filled"] == [] and report["errors"] == []
    waiting = ClipJobStore(db).require(lost.job_id)
    assert waiting.status is JobStatus.POLLING and waiting.error_detail == SWITCHED_OFF_CONFIRM
    assert ClipJobStore(db).require(linked.job_id).landscape_download_url is None
    ControlPlaneStore(db).write({"clip_api_enabled": True}, by="op@example.com")
    resumed = functions.sweep()
    assert resumed["finished"] == {lost.job_id: "ready"}
    assert linked.job_id in resumed["downloads_filled"]
    assert ClipJobStore(db).require(lost.job_id).error_detail is None


def deliver(functions: Functions, db, job_id: str, **changes: Any) -> requests.Response:
    headers, body = job_created_event(db, job_id, **changes)
    return requests.post(functions.worker.url, headers=headers, data=body, timeout=60)


def test_an_event_older_than_the_limit_is_dropped_and_reported_once(db, sim, functions):
    channel = channel_id()
    connect_channel(sim, db, channel)
    job = approve_moment(db, channel)
    since = len(sim.calls)
    old = datetime.now(UTC) - timedelta(minutes=11)
    answer = deliver(functions, db, job.job_id, time=old)
    assert answer.status_code == 200
    assert helix_calls(sim, since) == []
    assert ClipJobStore(db).require(job.job_id).status is JobStatus.QUEUED
    dropped = [
        line
        for line in functions.worker.log_tail(10**9).splitlines()
        if f"clip_jobs/{job.job_id} dropped" in line
    ]
    assert len(dropped) == 1 and '"severity": "ERROR"' in dropped[0]
    assert deliver(functions, db, job.job_id).status_code == 200
    assert wait_for_job(db, job.job_id).status is JobStatus.READY


def test_an_unreadable_job_document_is_acknowledged_and_reported_once(db, sim, functions):
    channel = channel_id()
    connect_channel(sim, db, channel)
    job = approve_moment(db, channel)
    headers, body = job_created_event(db, job.job_id)
    db.collection("clip_jobs").document(job.job_id).update({"requested_duration": "long"})
    since = len(sim.calls)
    answer = requests.post(functions.worker.url, headers=headers, data=body, timeout=60)
    assert answer.status_code == 200
    assert helix_calls(sim, since) == []
    given_up = [
        line
        for line in functions.worker.log_tail(10**9).splitlines()
        if f"clip job {job.job_id} given up" in line
    ]
    assert len(given_up) == 1
    assert_never_500(functions)
    assert (
        f"The stored document clip_jobs/{job.job_id} is unreadable: requested_duration"
        in given_up[0]
    )
