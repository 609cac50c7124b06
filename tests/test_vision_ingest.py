"""`VisionIngest` on the emulator with the FAKE classifier: refusals write nothing, the trigger
makes one candidate per moment, the limits hold under racing instances."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore

from shared.domain.errors import ConfigInvalid
from shared.domain.vision import (
    MAX_FRAME_BYTES,
    FrameRequest,
    ModelFailed,
    SceneClassification,
    hour_window,
    minute_window,
)
from shared.pipeline.vision_ingest import IngestAnswer, VisionIngest
from shared.store.action_queue import ActionQueue
from shared.store.control_plane import ControlPlaneStore
from shared.store.scene_context import SceneContextStore
from shared.store.vision_limits import VisionLimits
from shared.store.vision_stats import VisionStatsStore
from shared.vision_model.fake import FakeSceneClassifier, labelled_png
from tests.factories import obs_frame
from tests.racing import race

TOKEN = "vision-ingest-test-token-abcdef"
NOW = datetime(2026, 11, 24, 20, 0, 30, tzinfo=UTC)
CHANNEL = "4242"
VICTORY = {"game": "Demo Arena", "scene": "end", "event": "victory", "confidence": 0.95}


def frame_request(
    label: dict[str, Any] | None = None,
    *,
    body: bytes | None = None,
    channel: str = CHANNEL,
    captured: datetime | None = NOW - timedelta(seconds=2),
    **changes: Any,
) -> FrameRequest:
    """A frame of the FAKE classifier's `label`; `changes` set the other request fields."""
    data = labelled_png(label) if body is None else body
    capture_time = captured.isoformat() if captured else None
    return replace(obs_frame(data, token=TOKEN, channel=channel, captured=capture_time), **changes)


def make_ingest(
    db: firestore.Client,
    *,
    classifier: Any = None,
    token: str | None = TOKEN,
    now: Callable[[], datetime] = lambda: NOW,
) -> VisionIngest:
    return VisionIngest(
        token=token,
        classifier=FakeSceneClassifier() if classifier is None else classifier,
        config=ControlPlaneStore(db, cache_seconds=0),
        limits=VisionLimits(db),
        scenes=SceneContextStore(db),
        queue=ActionQueue(db),
        stats=VisionStatsStore(db),
        clock=now,
    )


def set_vision(db: firestore.Client, **settings: Any) -> None:
    current = ControlPlaneStore(db).read(fresh=True).vision.model_dump(mode="json")
    ControlPlaneStore(db).write({"vision": current | settings}, by="tests@example.com")


# Everything vision_ingest could write (the npm emulator cannot list collections).
WRITABLE = (
    "action_queue",
    "scene_context",
    "vision_limits",
    "observability",
    "observability/vision/hours",
    "control_plane",
)


def everything(db: firestore.Client) -> list[str]:
    """Every document vision_ingest could have written."""
    return [snap.reference.path for name in WRITABLE for snap in db.collection(name).stream()]


def queued(db: firestore.Client) -> list[dict[str, Any]]:
    return [s.to_dict() or {} for s in db.collection("action_queue").stream()]


@pytest.mark.parametrize(
    ("request_", "status", "token", "classifier"),
    [
        (frame_request(VICTORY, authorization=""), 401, TOKEN, "fake"),
        (frame_request(VICTORY, authorization="Bearer not-the-token"), 401, TOKEN, "fake"),
        (
            frame_request(VICTORY, query={"broadcaster_id": [CHANNEL], "token": [TOKEN]}),
            401,
            TOKEN,
            "fake",
        ),
        (frame_request(body=labelled_png(VICTORY) + b"\0" * MAX_FRAME_BYTES), 413, TOKEN, "fake"),
        (frame_request(body=b'{"not": "a png"}'), 415, TOKEN, "fake"),
        (frame_request(VICTORY, channel="my_login"), 400, TOKEN, "fake"),
        (frame_request(VICTORY), 503, TOKEN, None),
        (frame_request(VICTORY), 503, None, "fake"),
    ],
    ids=[
        "no-token",
        "wrong-token",
        "token-in-query",
        "oversize",
        "text-as-png",
        "bad-broadcaster",
        "no-model-key",
        "no-token-configured",
    ],
)
def test_refusals_write_nothing(db, request_, status, token, classifier):
    ingest = VisionIngest(
        token=token,
        classifier=FakeSceneClassifier() if classifier else None,
        config=ControlPlaneStore(db),
        limits=VisionLimits(db),
        scenes=SceneContextStore(db),
        queue=ActionQueue(db),
        stats=VisionStatsStore(db),
        clock=lambda: NOW,
    )
    answer = ingest.handle(request_)
    assert answer.status == status, answer.body
    assert answer.body["ok"] is False and answer.body["message"]
    assert TOKEN not in str(answer.body)
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 503 and classifier is None:
        assert "GEMINI_API_KEY" in answer.body["message"]
    assert everything(db) == []


def test_a_victory_above_threshold_is_one_candidate_and_the_same_moment_is_no_duplicate(db):
    ingest = make_ingest(db)
    captured = NOW - timedelta(seconds=3)
    first = ingest.handle(frame_request(VICTORY, captured=captured))
    assert first.status == 200, first.body
    assert first.body["triggered"] and first.body["action_id"] and not first.body["duplicate"]
    assert "model;dur=" in first.headers["Server-Timing"]

    (item,) = queued(db)
    payload = item["payload"]
    assert payload["source"] == "vision" and payload["broadcaster_id"] == CHANNEL
    assert payload["source_ts"] == captured
    assert payload["suggested_title"] == "Victory in Demo Arena"
    assert payload["mode"] == "live" and payload["score"] == 0.95

    again = ingest.handle(frame_request(VICTORY, captured=captured))
    assert again.status == 200 and again.body["duplicate"]
    assert again.body["action_id"] == first.body["action_id"]
    assert len(queued(db)) == 1

    scene = SceneContextStore(db).get(CHANNEL)
    assert scene is not None and scene.event == "victory" and scene.at == captured
    assert scene.action_id == first.body["action_id"] and "FAKE" in scene.classifier


def test_below_threshold_or_not_a_trigger_event_is_no_candidate(db):
    ingest = make_ingest(db)
    low = ingest.handle(frame_request(VICTORY | {"confidence": 0.5}))
    death = ingest.handle(frame_request({"event": "death", "confidence": 0.99}, channel="4243"))
    plain = ingest.handle(frame_request(None, channel="4244"))
    assert [a.status for a in (low, death, plain)] == [200, 200, 200]
    assert not any(a.body["triggered"] for a in (low, death, plain))
    assert queued(db) == []
    scene = SceneContextStore(db).get(CHANNEL)
    assert scene is not None and scene.event == "victory" and scene.confidence == 0.5


def test_threshold_and_events_come_from_the_control_plane(db):
    set_vision(db, confidence_threshold=0.4, trigger_events=["death"])
    ingest = make_ingest(db)
    assert not ingest.handle(frame_request(VICTORY)).body["triggered"]
    answer = ingest.handle(frame_request({"event": "death", "confidence": 0.45}, channel="7"))
    assert answer.body["triggered"] and len(queued(db)) == 1


def test_a_bad_vision_setting_is_refused_with_its_field_and_nothing_changes(db):
    with pytest.raises(ConfigInvalid) as caught:
        ControlPlaneStore(db).write(
            {"vision": {"confidence_threshold": 2, "trigger_events": ["none"]}}, by="tests"
        )
    fields = " ".join(caught.value.fields)
    assert "confidence_threshold" in fields and "trigger_events" in fields
    assert ControlPlaneStore(db).read(fresh=True).vision.confidence_threshold == 0.8


def test_pipeline_off_still_tells_the_scene_but_queues_nothing(db):
    ControlPlaneStore(db).write({"clip_pipeline_enabled": False}, by="tests@example.com")
    answer = make_ingest(db).handle(frame_request(VICTORY))
    assert answer.status == 200 and answer.body["triggered"] and answer.body["action_id"] is None
    assert queued(db) == [] and SceneContextStore(db).get(CHANNEL) is not None


@pytest.mark.parametrize(
    ("label", "status", "drop"),
    [({"fail": "timeout"}, 504, "model_timeout"), ({"fail": "error"}, 502, "model_error")],
)
def test_model_timeout_or_error_writes_no_scene_and_no_candidate(db, label, status, drop):
    answer = make_ingest(db, classifier=FakeSceneClassifier(sleep=lambda _: None)).handle(
        frame_request(VICTORY | label)
    )
    assert answer.status == status and answer.body["error"] == drop
    assert queued(db) == [] and SceneContextStore(db).get(CHANNEL) is None
    assert not any(p.startswith("scene_context/") for p in everything(db))
    stats = VisionStatsStore(db).recent(1)[0]
    assert stats.drops == {drop: 1} and stats.model_calls == 1


def test_the_rate_limit_is_per_channel_per_minute_with_retry_after(db):
    set_vision(db, frames_per_minute=2)
    ingest = make_ingest(db)
    statuses = [ingest.handle(frame_request(None)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = ingest.handle(frame_request(None))
    assert limited.body["error"] == "rate_limited"
    assert limited.headers["Retry-After"] == "30"  # NOW is 20:00:30
    assert ingest.handle(frame_request(None, channel="999")).status == 200
    later = make_ingest(db, now=lambda: NOW + timedelta(seconds=31))
    assert later.handle(frame_request(None, captured=NOW + timedelta(seconds=30))).status == 200


def test_the_hourly_cap_counts_model_calls_of_every_channel(db):
    set_vision(db, max_model_calls_per_hour=2, price_per_call_usd=0.01)
    ingest = make_ingest(db)
    answers = [ingest.handle(frame_request(None, channel=str(100 + i))) for i in range(3)]
    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[2].body["error"] == "cost_cap"
    assert answers[2].headers["Retry-After"] == str(3600 - 30)
    stats = VisionStatsStore(db).recent(1)[0]
    assert stats.frames == 3 and stats.model_calls == 2 and stats.drops == {"cost_cap": 1}
    assert stats.cost_usd == pytest.approx(0.02)
    assert stats.latency_ms_count == 2


def test_a_zero_cap_pauses_vision(db):
    set_vision(db, max_model_calls_per_hour=0)
    answer = make_ingest(db).handle(frame_request(VICTORY))
    assert answer.status == 429 and answer.body["error"] == "cost_cap"
    assert queued(db) == []


def test_racing_instances_never_exceed_a_window(db, new_client):
    window = minute_window(NOW)
    results = race(
        8, new_client, lambda client, _: VisionLimits(client).take_frame(CHANNEL, window, 3, NOW)
    )
    assert sorted(results) == [False] * 5 + [True] * 3
    assert VisionLimits(db).taken(f"frames-{CHANNEL}-{window.key}") == 3


def test_racing_model_calls_never_exceed_the_cap(db, new_client):
    window = hour_window(NOW)
    results = race(
        6, new_client, lambda client, _: VisionLimits(client).take_model_call(window, 4, NOW)
    )
    assert results.count(True) == 4
    assert VisionLimits(db).model_calls_taken(window) == 4


class Raising:
    name = "raising"

    def classify(
        self, frame: bytes, mime: str, *, model: str, timeout: float
    ) -> SceneClassification:
        raise ModelFailed("model says no")


def test_the_answer_never_echoes_the_frame(db):
    answer: IngestAnswer = make_ingest(db, classifier=Raising()).handle(frame_request(VICTORY))
    assert answer.status == 502 and "model says no" in answer.body["message"]
