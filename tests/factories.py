"""Valid raw inputs that tests change one field at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chatbot.detection import Detection
from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.vision import FrameRequest
from tests.fixtures_chat.synth import T0

MOMENT = "2026-11-24T20:00:01.250Z"


def live_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "broadcaster_id": "12345",
        "mode": "live",
        "suggested_duration": 30.0,
        "suggested_title": "What a save",
        "source": "chat_spike",
        "source_ts": MOMENT,
        "context_excerpt": "POG POG that save",
        "score": 0.8,
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not ...}


def vod_fields(**changes: Any) -> dict[str, Any]:
    return live_fields(**({"mode": "vod", "vod_id": "900001", "vod_offset": 120.0} | changes))


def clips_auth(**changes: Any) -> ClipsAuthHealth:
    """A token check that found the channel's token able to clip."""
    fields: dict[str, Any] = {
        "clips_token_valid": True,
        "clips_scope_ok": True,
        "clips_pipeline_enabled": True,
        "scopes": ["clips:edit"],
        "expires_in": 7200,
        "login": "bytestreamer",
        "user_id": "12345",
        "last_validated_at": datetime(2026, 11, 24, 20, 0, tzinfo=UTC),
    }
    return ClipsAuthHealth.model_validate(fields | changes)


CHAT_SPIKE = Detection(
    source="chat_spike",
    broadcaster_id="12345",
    moment_ts=T0 + 61.25,
    detected_ts=T0 + 70,
    score=0.61234,
    title="Chat erupts",
    excerpt="a: POG | b: no way",
)


def chat_detection(**changes: Any) -> Detection:
    """A moment the chat bot noticed in channel 12345; tests change what their case is about."""
    return replace(CHAT_SPIKE, **changes)


def obs_frame(body: bytes, *, token: str, channel: str, captured: str | None) -> FrameRequest:
    """A frame as OBS's frame sender posts it and the entry point decodes it."""
    return FrameRequest(
        body=body,
        declared_length=len(body),
        content_type="image/png",
        authorization=f"Bearer {token}",
        query={"broadcaster_id": [channel]},
        capture_time=captured,
    )
