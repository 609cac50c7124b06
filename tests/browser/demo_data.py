"""Realistic data for the screenshots: a busy evening on the demo channel (id 12345).

Written through the shared stores (submit, approve, control-plane writes), then jobs are moved
to the states the functions would have left them in.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud import firestore

from shared.domain.clip_job import JobStatus
from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.errors import ErrorCode
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import COLLECTION as JOBS
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TwitchTokenStore

CHANNEL = "12345"
LOGIN = "bytestreamer"

PENDING: list[dict[str, Any]] = [
    {
        "source": "chat_spike",
        "suggested_title": "1v4 clutch on Ascent",
        "context_excerpt": "CLUTCH CLUTCH no way he hit that, KEKW the jump spot",
        "score": 0.93,
        "age": 9,
    },
    {
        "source": "keyword",
        "suggested_title": "Boss one-shots the streamer",
        "context_excerpt": "'rip' x14 in 5 s: LUL he walked right into it",
        "score": 0.71,
        "age": 41,
    },
    {
        "source": "vision",
        "suggested_title": "Victory screen",
        "context_excerpt": "Frame shows a VICTORY banner and the scoreboard 13-11",
        "score": 0.66,
        "age": 140,
    },
    {
        "source": "manual",
        "suggested_title": "Funniest donation read of the night",
        "context_excerpt": "Ben: the donation read at 1:02 into the VOD",
        "score": 1.0,
        "age": 3600,
        "mode": "vod",
        "vod_id": "900001",
        "vod_offset": 3723.0,
    },
]

TITLES = [
    "Ace on Haven",
    "Chat votes the loadout",
    "Raid from @pixelpal",
    "Speedrun PB split",
    "Cat walks on the keyboard",
    "Triple kill with the pistol",
    "Bug launches the car to orbit",
    "Boss down first try",
    "Sub train hits 50",
    "Perfect parry chain",
    "Ranked promo game point",
    "Lag spike in the final",
    "Blind jump across the map",
    "Streamer sings the outro",
]


def _candidate(spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    fields = {
        "broadcaster_id": CHANNEL,
        "mode": spec.get("mode", "live"),
        "suggested_duration": spec.get("duration", 30.0),
        "suggested_title": spec["suggested_title"],
        "source": spec["source"],
        "source_ts": (now - timedelta(seconds=spec["age"])).isoformat(),
        "context_excerpt": spec["context_excerpt"],
        "score": spec["score"],
    }
    for key in ("vod_id", "vod_offset"):
        if key in spec:
            fields[key] = spec[key]
    return fields


def seed_jobs(db: firestore.Client, now: datetime, thumbnail_base: str) -> None:
    """Jobs over the last day, in every status, with realistic timings and links."""
    rng = random.Random(5)
    queue = ActionQueue(db)
    sources = ["chat_spike", "keyword", "command", "vision", "chat_spike", "autonomy_goal"]
    plan = [JobStatus.READY] * 9 + [JobStatus.FAILED] * 2 + [JobStatus.POLLING, JobStatus.QUEUED]
    for index, (title, status) in enumerate(zip(TITLES, plan, strict=False)):
        if status in (JobStatus.POLLING, JobStatus.QUEUED):
            approved = now - timedelta(seconds=3 + index)
        else:
            approved = now - timedelta(minutes=rng.randint(2, 23 * 60), seconds=index * 7)
        moment = approved - timedelta(seconds=rng.uniform(6, 38))
        fields = {
            "broadcaster_id": CHANNEL,
            "mode": "live",
            "suggested_duration": rng.choice([20.0, 30.0, 30.0, 45.0]),
            "suggested_title": title,
            "source": sources[index % len(sources)],
            "source_ts": moment.isoformat(),
            "context_excerpt": "",
            "score": round(rng.uniform(0.55, 0.97), 2),
        }
        action = queue.submit(fields, now=moment + timedelta(seconds=2))
        operator = rng.choice(["Ann", "ben@channel.tv"])
        job = approve(queue, ClipJobStore(db), action.action_id, by=operator, now=approved)
        clip_id = f"BrightCleverClip{index:03d}"
        update: dict[str, Any] = {"status": status.value, "updated_at": approved}
        if status in (JobStatus.READY, JobStatus.POLLING, JobStatus.FAILED):
            update |= {
                "twitch_clip_id": clip_id,
                "edit_url": f"https://clips.twitch.tv/{clip_id}/edit",
                "attempts": 1,
            }
        if status is JobStatus.READY:
            ready = approved + timedelta(seconds=rng.uniform(4, 12))
            update |= {
                "clip_url": f"https://clips.twitch.tv/{clip_id}",
                "thumbnail_url": f"{thumbnail_base}/{clip_id}.png",
                "ready_at": ready,
                "updated_at": ready,
            }
            if index % 3 != 1:
                update |= {
                    "landscape_download_url": f"https://downloads.example/{clip_id}-landscape.mp4",
                    "portrait_download_url": f"https://downloads.example/{clip_id}-portrait.mp4",
                }
        if status is JobStatus.FAILED:
            first = index == plan.index(JobStatus.FAILED)
            code = ErrorCode.NOT_FOUND if first else ErrorCode.CREATE_TIMEOUT
            update |= {
                "error_code": code.value,
                "error_detail": (
                    "Twitch answered 404: the channel is not live, so no live clip can be made."
                    if first
                    else "Twitch accepted the clip (202) but it was not visible after 15 s."
                ),
                "manual_retries": 0 if first else 2,
                "updated_at": approved + timedelta(seconds=16),
            }
            if first:
                update.pop("twitch_clip_id")
                update.pop("edit_url")
        db.collection(JOBS).document(job.job_id).update(update)


def seed(db: firestore.Client, thumbnail_base: str) -> None:
    now = datetime.now(UTC)
    control = ControlPlaneStore(db)
    control.write({"max_manual_retries": 2}, by="Ann")
    control.write({"dedupe_window_seconds": 45}, by="ben@channel.tv")
    seed_jobs(db, now, thumbnail_base)
    queue = ActionQueue(db)
    for offset, spec in enumerate(reversed(PENDING)):
        queue.submit(_candidate(spec, now), now=now - timedelta(seconds=len(PENDING) - offset))
    grant = TokenGrant(
        access_token="demo-access-token-never-shown",
        refresh_token="demo-refresh-token-never-shown",
        expires_in=4 * 3600,
        scopes=CONNECT_SCOPES,
    )
    TwitchTokenStore(db).save_grant(grant, user_id=CHANNEL, login=LOGIN, client_id="byteclips-demo")
    ClipsAuthStore(db).write_clips_auth(
        ClipsAuthHealth(
            clips_token_valid=True,
            clips_scope_ok=True,
            clips_pipeline_enabled=True,
            scopes=sorted(CONNECT_SCOPES),
            expires_in=13_200,
            login=LOGIN,
            user_id=CHANNEL,
            last_validated_at=now - timedelta(minutes=17),
        )
    )
