"""Vision's pure rules: the frame checks, the answer model, the trigger, the candidate, and
the FAKE classifier's labels."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.clip_candidate import new_candidate
from shared.domain.vision import (
    CAPTURE_HEADER,
    MAX_FRAME_BYTES,
    Drop,
    FrameRefused,
    FrameRequest,
    ModelFailed,
    ModelTimeout,
    SceneClassification,
    VisionSettings,
    VisionStats,
    candidate_fields,
    check_frame,
    frame_mime,
    hour_window,
    latency_bucket,
    minute_window,
    parse_classification,
    retry_after,
    should_trigger,
)
from shared.vision_model.fake import FakeSceneClassifier, labelled_png, read_label
from tests.factories import obs_frame

TOKEN = "vision-token-for-tests-0123456789"
NOW = datetime(2026, 11, 24, 20, 0, 30, tzinfo=UTC)
PNG = labelled_png(None)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def request(**changes: Any) -> FrameRequest:
    frame = obs_frame(PNG, token=TOKEN, channel="12345", captured="2026-11-24T20:00:28.500Z")
    return replace(frame, **changes)


def refusal(req: FrameRequest, token: str | None = TOKEN) -> FrameRefused:
    with pytest.raises(FrameRefused) as caught:
        check_frame(req, token=token, now=NOW)
    return caught.value


def test_a_good_frame_passes_with_its_capture_time():
    frame = check_frame(request(), token=TOKEN, now=NOW)
    assert frame.broadcaster_id == "12345" and frame.mime == "image/png"
    assert frame.captured_at == datetime(2026, 11, 24, 20, 0, 28, 500000, tzinfo=UTC)
    assert frame.capture_sent


def test_without_capture_time_the_receive_time_is_used():
    frame = check_frame(request(capture_time=None), token=TOKEN, now=NOW)
    assert frame.captured_at == NOW and not frame.capture_sent


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", f"Basic {TOKEN}", "Bearer wrong-token", f"Bearer {TOKEN}x", TOKEN],
)
def test_missing_or_wrong_token_is_401(authorization):
    refused = refusal(request(authorization=authorization))
    assert refused.status == 401 and refused.drop is Drop.UNAUTHORIZED
    assert TOKEN not in refused.message


@pytest.mark.parametrize(
    "query",
    [
        {"broadcaster_id": ["12345"], "token": [TOKEN]},
        {"broadcaster_id": ["12345"], "access_token": ["anything"]},
        {"broadcaster_id": ["12345"], "x": [TOKEN]},
    ],
)
def test_a_token_in_the_query_is_401_even_with_the_right_header(query):
    refused = refusal(request(query=query))
    assert refused.status == 401 and "URL" in refused.message


def test_scheme_is_case_insensitive():
    assert check_frame(request(authorization=f"bearer {TOKEN}"), token=TOKEN, now=NOW)


def test_no_configured_token_is_503():
    refused = refusal(request(), token=None)
    assert refused.status == 503 and "VISION_INGEST_TOKEN" in refused.message


def test_oversize_body_is_413_by_declared_or_actual_length():
    assert refusal(request(body=b"", declared_length=MAX_FRAME_BYTES + 1)).status == 413
    big = PNG + b"\0" * MAX_FRAME_BYTES
    assert refusal(request(body=big, declared_length=None)).status == 413


def test_text_posing_as_png_is_415():
    refused = refusal(request(body=b"GIF89a or <html>not an image</html>"))
    assert refused.status == 415


def test_content_type_must_match_the_bytes():
    assert refusal(request(content_type="image/jpeg")).status == 415
    assert refusal(request(content_type="text/plain")).status == 415
    frame = check_frame(request(body=JPEG, content_type="image/jpeg"), token=TOKEN, now=NOW)
    assert frame.mime == "image/jpeg"
    assert check_frame(request(content_type="application/octet-stream"), token=TOKEN, now=NOW)


def test_magic_bytes():
    assert frame_mime(PNG) == "image/png"
    assert frame_mime(JPEG) == "image/jpeg"
    assert frame_mime(b"\x89PNX\r\n\x1a\n") is None
    assert frame_mime(b"") is None


def test_empty_body_is_400():
    assert refusal(request(body=b"", declared_length=0)).status == 400


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"broadcaster_id": ["streamer_login"]},
        {"broadcaster_id": ["1", "2"]},
        {"broadcaster_id": [""]},
    ],
)
def test_bad_broadcaster_id_is_400(query):
    refused = refusal(request(query=query))
    assert refused.status == 400 and "broadcaster_id" in refused.message


@pytest.mark.parametrize(
    "capture",
    ["yesterday", "2026-11-24T20:00:00", "2026-11-24T19:40:00Z", "2026-11-24T20:05:00Z"],
)
def test_bad_or_far_capture_time_is_400(capture):
    refused = refusal(request(capture_time=capture))
    assert refused.status == 400 and CAPTURE_HEADER in refused.message


def test_the_checks_run_in_order_auth_first():
    refused = refusal(request(authorization="", body=b"text", query={}))
    assert refused.status == 401


def scene(**changes: object) -> SceneClassification:
    fields: dict[str, object] = {
        "game": "Valorant",
        "scene": "end screen",
        "event": "victory",
        "confidence": 0.9,
        "summary": "VICTORY",
    }
    fields.update(changes)
    return SceneClassification.model_validate(fields)


def test_trigger_needs_a_listed_event_at_or_above_the_threshold():
    settings = VisionSettings(trigger_events=("victory", "clutch"), confidence_threshold=0.8)
    assert should_trigger(scene(confidence=0.8), settings)
    assert not should_trigger(scene(confidence=0.79), settings)
    assert not should_trigger(scene(event="death"), settings)
    assert not should_trigger(scene(event="none", confidence=1.0), settings)


def test_settings_refuse_none_as_a_trigger_and_bad_model_names():
    with pytest.raises(ValidationError):
        VisionSettings(trigger_events=("none",))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        VisionSettings(model="../../v1/evil")
    with pytest.raises(ValidationError):
        VisionSettings(confidence_threshold=1.5)
    assert VisionSettings(trigger_events=["Victory", "victory"]).trigger_events == ("victory",)  # type: ignore[arg-type]
    assert VisionSettings().model.startswith("gemini-") and "flash" in VisionSettings().model


def test_candidate_fields_validate_and_are_stable_for_one_moment():
    captured = datetime(2026, 11, 24, 20, 0, 1, tzinfo=UTC)
    fields = candidate_fields(scene(), broadcaster_id="12345", captured_at=captured, duration=30.0)
    candidate = new_candidate(fields)
    assert candidate.source == "vision" and candidate.mode == "live"
    assert candidate.source_ts == captured
    assert candidate.suggested_title == "Victory in Valorant"
    assert candidate.score == 0.9
    other_words = candidate_fields(
        scene(summary="a different sentence", confidence=0.95, game="VALORANT"),
        broadcaster_id="12345",
        captured_at=captured,
        duration=30.0,
    )
    assert new_candidate(other_words).dedupe_key == candidate.dedupe_key


def test_model_text_is_cleaned_and_capped():
    answer = parse_classification(
        '{"game": "Evil http://phish.example/x", "scene": "a\\u202eb", "event": " Victory ",'
        ' "confidence": 0.9, "summary": "' + "long " * 100 + '"}'
    )
    assert "http://" not in answer.game and "\u202e" not in answer.scene
    assert answer.event == "victory" and len(answer.summary) <= 200
    title = candidate_fields(answer, broadcaster_id="1", captured_at=NOW, duration=30.0)[
        "suggested_title"
    ]
    assert "http://" not in title and "phish.example" not in title


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "not json",
        '{"event": "victory"}',
        '{"event": "explosion", "confidence": 0.5}',
        '{"event": "victory", "confidence": 2}',
    ],
)
def test_unusable_answers_are_model_failures(raw):
    with pytest.raises(ModelFailed):
        parse_classification(raw)


def test_windows_and_retry_after():
    minute = minute_window(NOW)
    assert minute.key == "202611242000" and retry_after(NOW, minute) == 30
    hour = hour_window(NOW)
    assert hour.key == "2026112420" and retry_after(NOW, hour) == 3570
    assert retry_after(minute.ends_at - timedelta(milliseconds=1), minute) == 1


def test_latency_quantiles_from_buckets():
    stats = VisionStats(hour="2026112420")
    assert stats.latency_quantile_ms(0.5) is None
    buckets = {latency_bucket(ms): 0 for ms in (100, 600, 30000)}
    buckets[latency_bucket(100)] = 9
    buckets[latency_bucket(600)] = 1
    stats = VisionStats(hour="2026112420", latency_buckets=buckets)
    assert stats.latency_quantile_ms(0.5) == 250.0
    assert stats.latency_quantile_ms(0.95) == 1000.0
    assert latency_bucket(30000) == "over"


def test_fake_classifier_answers_the_label_and_says_it_is_fake():
    fake = FakeSceneClassifier()
    assert "FAKE" in fake.name
    label = {"game": "G", "scene": "s", "event": "clutch", "confidence": 0.88}
    answer = fake.classify(labelled_png(label), "image/png", model="m", timeout=5)
    assert answer.event == "clutch" and answer.confidence == 0.88
    assert fake.classify(labelled_png(None), "image/png", model="m", timeout=5).event == "none"
    assert read_label(JPEG, "image/jpeg") is None


def test_fake_classifier_reads_jpeg_comments_and_can_fail():
    comment = b'byteclips-fake-scene:{"event": "death", "confidence": 0.7}'
    jpeg = b"\xff\xd8\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + b"\xff\xda"
    assert FakeSceneClassifier().classify(jpeg, "image/jpeg", model="m", timeout=5).event == "death"
    slept: list[float] = []
    fake = FakeSceneClassifier(sleep=slept.append)
    with pytest.raises(ModelTimeout):
        fake.classify(labelled_png({"fail": "timeout"}), "image/png", model="m", timeout=3)
    with pytest.raises(ModelTimeout):
        fake.classify(labelled_png({"delay_seconds": 9}), "image/png", model="m", timeout=3)
    assert slept == [3, 3]
    with pytest.raises(ModelFailed):
        fake.classify(labelled_png({"fail": "error"}), "image/png", model="m", timeout=3)
