"""A detection becomes the raw fields of a `clip_candidate.v1` (docs/architecture.md §3.1); pure.

Validation, the dedupe key and the write belong to `shared` (`ActionQueue.submit`); this only
decides the values: mode from the control plane's `clip_mode_default`, the duration from
`chat.clip_duration_seconds` or the control plane's default, and for VOD mode the archive
placement. Without a known archive a VOD-mode candidate falls back to live (said in the
excerpt), because a moment in a live stream can still be clipped live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chatbot.detection import Detection
from chatbot.titles import shorten
from chatbot.vod import StreamArchive, vod_offset
from shared.domain.chat_settings import ChatSettings
from shared.domain.clip_candidate import MAX_EXCERPT_CHARS
from shared.domain.control_plane import ControlPlaneConfig


@dataclass(frozen=True)
class CandidateFields:
    fields: dict[str, Any]
    note: str | None = None


def iso(ts: float) -> str:
    """Unix seconds as ISO 8601 UTC with milliseconds, like the chat logs use."""
    moment = datetime.fromtimestamp(round(ts, 3), tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def candidate_fields(
    detection: Detection,
    clips: ControlPlaneConfig,
    chat: ChatSettings,
    archive: StreamArchive | None = None,
) -> CandidateFields:
    duration = chat.clip_duration_seconds or clips.clip_default_duration
    fields: dict[str, Any] = {
        "broadcaster_id": detection.broadcaster_id,
        "mode": "live",
        "suggested_duration": duration,
        "suggested_title": detection.title,
        "source": detection.source,
        "source_ts": iso(detection.moment_ts),
        "context_excerpt": shorten(detection.excerpt, MAX_EXCERPT_CHARS),
        "score": min(1.0, max(0.0, round(detection.score, 3))),
    }
    note = None
    if clips.clip_mode_default == "vod":
        offset = vod_offset(detection.moment_ts, archive, duration) if archive else None
        if archive is not None and offset is not None:
            fields |= {"mode": "vod", "vod_id": archive.vod_id, "vod_offset": offset}
        else:
            note = "VOD mode is set but the stream's VOD is not known: queued as a live clip"
            fields["context_excerpt"] = shorten(f"[{note}] {detection.excerpt}", MAX_EXCERPT_CHARS)
    return CandidateFields(fields, note)
