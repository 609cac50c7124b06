"""Discord posts of clip jobs: claimed once per job and status, recorded on the job.

Claiming the post of job J in status S creates `clip_jobs/{J}/discord_posts/{S}` in the batch that
sets `discord.{S}.claimed_at` on the job (`commit_led_by_create`, docs/architecture.md §5), so of
two processes exactly one posts, on the emulator as in production. The claim comes before the post:
a crash in between loses one Discord message, never doubles it. The outcome (posted, or failed and
why) is written to the job's `discord.{S}` map and to `discord_last_at`, which the app lists; the
job model ignores these fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.watch import ChangeType, Watch

from shared.domain.clip_job import ClipJob
from shared.domain.errors import StoredDocumentUnreadable
from shared.store.clip_jobs import COLLECTION, read_job
from shared.store.documents import report_unreadable
from shared.store.exclusive import commit_led_by_create

POSTS = "discord_posts"
FIELD = "discord"
LAST_AT = "discord_last_at"


@dataclass(frozen=True)
class FinishedJob:
    """A job as the listener saw it, with what was already done about Discord per status."""

    job: ClipJob
    discord: Mapping[str, Any]

    def claimed(self, status: str) -> bool:
        entry = self.discord.get(status)
        return isinstance(entry, Mapping) and entry.get("claimed_at") is not None


@dataclass(frozen=True)
class PostRecord:
    """One Discord post as the app lists it."""

    job_id: str
    action_id: str
    broadcaster_id: str
    title: str | None
    source: str
    status: str
    result: str
    at: datetime | None
    detail: str
    clip_url: str | None


class DiscordPostStore:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection(COLLECTION)

    def watch_finished(
        self, since: datetime, on_jobs: Callable[[list[FinishedJob]], None]
    ) -> Watch:
        """Jobs changed at or after `since`, as they change (every snapshot, possibly none);
        an unreadable document is skipped and logged once (the document id stands in for a
        missing `job_id`, as everywhere). Runs on Firestore's listener thread."""

        def deliver(docs: list[Any], changes: list[Any], read_time: Any) -> None:
            found = []
            for change in changes:
                if change.type == ChangeType.REMOVED:
                    continue
                data = change.document.to_dict() or {}
                try:
                    job = read_job(change.document)
                except StoredDocumentUnreadable as error:
                    report_unreadable(error)
                    continue
                discord = data.get(FIELD)
                found.append(FinishedJob(job, discord if isinstance(discord, Mapping) else {}))
            on_jobs(found)

        query = self._col.where(filter=FieldFilter("updated_at", ">=", since))
        return query.on_snapshot(deliver)

    def claim(self, job_id: str, status: str, *, by: str, now: datetime) -> bool:
        """Whether `by` won the right to post this job's `status` to Discord."""
        ref = self._col.document(job_id)
        marker = ref.collection(POSTS).document(status)
        fields = {f"{FIELD}.{status}.claimed_at": now, f"{FIELD}.{status}.by": by, LAST_AT: now}
        return commit_led_by_create(
            self._db,
            marker,
            {"by": by, "at": now, "status": status, "result": "posting"},
            lambda batch: batch.update(ref, fields),
        )

    def record(
        self,
        job_id: str,
        status: str,
        *,
        posted: bool,
        now: datetime,
        detail: str = "",
        message_id: str | None = None,
        attempts: int = 1,
        rate_limited: int = 0,
    ) -> None:
        """The post's outcome, on the job (for the app) and on the claim marker."""
        result = "posted" if posted else "failed"
        outcome = {
            "result": result,
            "at": now,
            "detail": detail,
            "message_id": message_id,
            "attempts": attempts,
            "rate_limited": rate_limited,
        }
        ref = self._col.document(job_id)
        batch = self._db.batch()
        batch.update(
            ref,
            {f"{FIELD}.{status}.{name}": value for name, value in outcome.items()} | {LAST_AT: now},
        )
        batch.update(ref.collection(POSTS).document(status), outcome)
        batch.commit()

    def recent(self, limit: int = 20) -> list[PostRecord]:
        """The latest posts (and failed attempts), newest first."""
        query = self._col.order_by(LAST_AT, direction=firestore.Query.DESCENDING).limit(limit)
        records = []
        for snap in query.stream():
            data = snap.to_dict() or {}
            discord = data.get(FIELD)
            if not isinstance(discord, Mapping):
                continue
            for status, entry in discord.items():
                if not isinstance(entry, Mapping):
                    continue
                records.append(
                    PostRecord(
                        job_id=snap.id,
                        action_id=str(data.get("action_id") or ""),
                        broadcaster_id=str(data.get("broadcaster_id") or ""),
                        title=data.get("requested_title"),
                        source=str(data.get("candidate_source") or ""),
                        status=str(status),
                        result=str(entry.get("result") or "posting"),
                        at=entry.get("at") or entry.get("claimed_at"),
                        detail=str(entry.get("detail") or ""),
                        clip_url=data.get("clip_url"),
                    )
                )
        records.sort(key=lambda r: r.at.timestamp() if r.at else 0.0, reverse=True)
        return records[:limit]
