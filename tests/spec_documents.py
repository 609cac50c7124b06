"""Documents as another writer of Firestore leaves them (docs/architecture.md §3): exactly the
documented fields, one field of the wrong type, or (action_queue) another `kind`.

Shared by the store tests, the AppTest and the browser test of "one bad document never takes
a page down". Ids say what each is, so a page can be searched for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud import firestore

CHANNEL = "12345"
MINIMAL_ITEM = "spec-minimal-candidate"
WRONG_ITEM = "spec-wrong-type-candidate"
KIND_ITEM = "spec-poll-item"
MINIMAL_JOB = "job_spec-minimal"
WRONG_JOB = "job_spec-wrong-type"
MINIMAL_TOKEN_USER = "12345"
WRONG_TOKEN_USER = "424242"
MINIMAL_TITLE = "Minimal SPEC candidate"
MINIMAL_JOB_TITLE = "Minimal SPEC job"


def minimal_item(moment: datetime, *, title: str = MINIMAL_TITLE) -> dict[str, Any]:
    """docs/architecture.md §3.1's fields and nothing else: no `action_id`, no
    `created_at`/`updated_at`, the moment as an ISO 8601 string."""
    return {
        "kind": "clip_candidate",
        "risk": "suggest_streamer",
        "status": "pending_approval",
        "payload": {
            "schema": "clip_candidate.v1",
            "candidate_id": "cand-spec-1",
            "dedupe_key": MINIMAL_ITEM,
            "broadcaster_id": CHANNEL,
            "mode": "live",
            "suggested_duration": 30.0,
            "suggested_title": title,
            "source": "keyword",
            "source_ts": moment.isoformat().replace("+00:00", "Z"),
            "context_excerpt": "written by another tool",
            "score": 0.7,
        },
    }


def minimal_job(now: datetime) -> dict[str, Any]:
    """docs/architecture.md §3.2's fields, a ready job with its links."""
    return {
        "job_id": MINIMAL_JOB,
        "action_id": "spec-approved-item",
        "candidate_source": "keyword",
        "broadcaster_id": CHANNEL,
        "mode": "live",
        "requested_duration": 30.0,
        "requested_title": MINIMAL_JOB_TITLE,
        "status": "ready",
        "twitch_clip_id": "SpecClip",
        "edit_url": "https://clips.twitch.tv/SpecClip/edit",
        "clip_url": "https://clips.twitch.tv/SpecClip",
        "thumbnail_url": None,
        "landscape_download_url": None,
        "portrait_download_url": None,
        "vod_id": None,
        "vod_offset": None,
        "error_code": None,
        "error_detail": None,
        "attempts": 1,
        "next_attempt_at": None,
        "created_at": now - timedelta(minutes=2),
        "updated_at": now - timedelta(minutes=1),
        "ready_at": now - timedelta(minutes=1),
    }


def minimal_config() -> dict[str, Any]:
    return {
        "clip_pipeline_enabled": True,
        "clip_api_enabled": True,
        "clip_mode_default": "vod",
        "language": "en",
    }


def minimal_clips_auth(now: datetime) -> dict[str, Any]:
    return {
        "clips_token_valid": True,
        "clips_scope_ok": True,
        "clips_pipeline_enabled": True,
        "scopes": ["clips:edit", "channel:manage:clips"],
        "expires_in": 7200,
        "login": "specstreamer",
        "user_id": CHANNEL,
        "last_validated_at": now - timedelta(minutes=4),
        "last_error": None,
    }


def minimal_token(now: datetime, user_id: str = MINIMAL_TOKEN_USER) -> dict[str, Any]:
    return {
        "access_token": "spec-access-token-123456",
        "refresh_token": "spec-refresh-token-123456",
        "scopes": ["clips:edit", "channel:manage:clips", "editor:manage:clips"],
        "user_id": user_id,
        "login": "specstreamer",
        "expires_at": now + timedelta(hours=3),
    }


def minimal_scene(now: datetime) -> dict[str, Any]:
    """docs/architecture.md §3.6's `scene_context/{broadcaster_id}`: what the model saw, no
    `broadcaster_id` field (the document id), nothing of ours (`model`, `received_at`...)."""
    return {
        "game": "Chess",
        "scene": "endgame board",
        "event": "victory",
        "confidence": 0.9,
        "summary": "checkmate on screen",
        "at": now - timedelta(seconds=20),
    }


@dataclass(frozen=True)
class Written:
    """What `write_foreign` wrote, for the assertions."""

    minimal_item: str = MINIMAL_ITEM
    wrong_item: str = WRONG_ITEM
    kind_item: str = KIND_ITEM
    minimal_job: str = MINIMAL_JOB
    wrong_job: str = WRONG_JOB
    minimal_token: str = MINIMAL_TOKEN_USER
    wrong_token: str = WRONG_TOKEN_USER


def write_foreign(db: firestore.Client, *, broken_singletons: bool = True) -> Written:
    """One document of each collection in the documented minimal shape, one with a wrong type,
    and one queue item of an unknown kind. `broken_singletons`: control_plane/config and
    observability/clips_auth (one document each) get the wrong type, else the minimal shape."""
    now = datetime.now(UTC)
    queue = db.collection("action_queue")
    queue.document(MINIMAL_ITEM).set(minimal_item(now - timedelta(seconds=6)))
    wrong = minimal_item(now - timedelta(seconds=8), title="Wrong type candidate")
    wrong["payload"]["score"] = "very high"
    queue.document(WRONG_ITEM).set(wrong)
    queue.document(KIND_ITEM).set(
        {
            "kind": "poll",
            "risk": "suggest_streamer",
            "status": "pending_approval",
            "payload": {"question": "Which clip was best?"},
        }
    )
    jobs = db.collection("clip_jobs")
    jobs.document(MINIMAL_JOB).set(minimal_job(now))
    broken_job = minimal_job(now) | {
        "job_id": WRONG_JOB,
        "status": "failed",
        "requested_title": "Wrong type job",
        "attempts": "three",
        "error_code": "clip_unknown",
        "error_detail": "Twitch 503",
    }
    jobs.document(WRONG_JOB).set(broken_job)
    config = minimal_config()
    auth = minimal_clips_auth(now)
    if broken_singletons:
        config["clip_api_enabled"] = "maybe"
        auth["last_validated_at"] = "yesterday"
    db.document("control_plane/config").set(config)
    db.document("observability/clips_auth").set(auth)
    tokens = db.collection("twitch_tokens")
    tokens.document(MINIMAL_TOKEN_USER).set(minimal_token(now))
    tokens.document(WRONG_TOKEN_USER).set(minimal_token(now, WRONG_TOKEN_USER) | {"scopes": 7})
    db.collection("scene_context").document(CHANNEL).set(minimal_scene(now))
    return Written()
