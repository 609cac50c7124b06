"""Valid raw inputs that tests change one field at a time."""

from __future__ import annotations

from typing import Any

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
