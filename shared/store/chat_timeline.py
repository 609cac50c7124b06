"""`chat_timeline/{broadcaster_id}_{hour}`: a stream's chat features, and `chat_tuning/{id}`:
what the after-stream tuning changed, so it can be shown and reverted, with
`chat_tuning/{id}/streams/{stream_id}`: one marker per stream tuned, created exclusively, so
the daily job tunes each stream once however often it runs.

The timeline is compact on purpose: one document per channel and hour holds that hour's
10 s buckets (at most 360) as a map `b: {"s<second of the hour>": [chatters, surge, reactions,
repetition, clip_calls]}`, written by merge so the bot can add buckets as they finish. Each
document carries `expire_at` for Firestore's TTL policy (`ttl` after its hour ends), so the
collection stays bounded without a sweeper. Reading a stream is one direct get per hour: no
query, no index.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

from shared.domain.chat_tuning import TimelineBucket

TIMELINE = "chat_timeline"
TUNING = "chat_tuning"
HISTORY = "history"
STREAMS = "streams"
DEFAULT_TTL = timedelta(days=14)
MAX_HOURS = 48  # one read covers a stream, not a month


def _hour_start(ts: float) -> int:
    return int(ts // 3600 * 3600)


def timeline_doc_id(broadcaster_id: str, hour_start: int) -> str:
    stamp = datetime.fromtimestamp(hour_start, tz=UTC).strftime("%Y%m%dT%H")
    return f"{broadcaster_id}_{stamp}"


class ChatTimelineStore:
    def __init__(self, db: firestore.Client, *, ttl: timedelta = DEFAULT_TTL) -> None:
        self._db = db
        self._col = db.collection(TIMELINE)
        self._ttl = ttl

    def append(self, broadcaster_id: str, buckets: Iterable[TimelineBucket]) -> int:
        """Add finished buckets (one merge write per hour touched); returns how many."""
        by_hour: dict[int, dict[str, list[float]]] = defaultdict(dict)
        for bucket in buckets:
            hour = _hour_start(bucket.ts)
            values = [float(bucket.chatters), *(float(z) for z in bucket.z)]
            if all(math.isfinite(v) for v in values):
                by_hour[hour][f"s{int(bucket.ts - hour)}"] = values
        if not by_hour:
            return 0
        batch = self._db.batch()
        for hour, entries in by_hour.items():
            start = datetime.fromtimestamp(hour, tz=UTC)
            batch.set(
                self._col.document(timeline_doc_id(broadcaster_id, hour)),
                {
                    "broadcaster_id": broadcaster_id,
                    "hour": start,
                    "expire_at": start + timedelta(hours=1) + self._ttl,
                    "b": entries,
                },
                merge=True,
            )
        batch.commit()
        return sum(len(entries) for entries in by_hour.values())

    def read(self, broadcaster_id: str, start: datetime, end: datetime) -> list[TimelineBucket]:
        """The buckets of [start, end], oldest first."""
        first, last = start.timestamp(), end.timestamp()
        hours = range(_hour_start(first), _hour_start(last) + 1, 3600)
        if len(hours) > MAX_HOURS:
            raise ValueError(f"a timeline read covers at most {MAX_HOURS} hours")
        refs = [self._col.document(timeline_doc_id(broadcaster_id, hour)) for hour in hours]
        out: list[TimelineBucket] = []
        for snap in self._db.get_all(refs):
            data = snap.to_dict() or {}
            base = data.get("hour")
            if not isinstance(base, datetime):
                continue
            for offset, values in (data.get("b") or {}).items():
                bucket = _bucket(base.timestamp(), offset, values)
                if bucket is not None and first <= bucket.ts <= last:
                    out.append(bucket)
        out.sort(key=lambda b: b.ts)
        return out


def _bucket(hour: float, offset: str, values: Any) -> TimelineBucket | None:
    """One stored bucket, or None when it is not what the bot writes (skipped, not fatal)."""
    # Keys are "s<seconds into the hour>": a field name that is not all digits, because the npm
    # emulator drops merged map fields whose names need quoting.
    seconds = offset.removeprefix("s")
    if not seconds.isdigit() or not isinstance(values, list) or len(values) != 5:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    z = (float(values[1]), float(values[2]), float(values[3]), float(values[4]))
    return TimelineBucket(hour + int(seconds), float(values[0]), z)


@dataclass(frozen=True)
class TuningRecord:
    """One run of the after-stream tuning: what it saw, what it set and what was there
    before (flat setting names, as `ControlPlaneStore.write` takes them)."""

    broadcaster_id: str
    at: datetime
    by: str
    stream_started_at: datetime
    stream_ended_at: datetime
    clips: int
    moments: int
    caught_before: int
    caught_after: int
    changed: bool
    values: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    reverted_at: datetime | None = None
    reverted_by: str | None = None
    stream_id: str = ""

    @staticmethod
    def read(data: Mapping[str, Any]) -> TuningRecord:
        known = TuningRecord.__dataclass_fields__
        return TuningRecord(**{k: v for k, v in data.items() if k in known})


class ChatTuningLog:
    """`chat_tuning/{broadcaster_id}` holds the latest run; `.../history` keeps every run."""

    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection(TUNING)

    def save(self, record: TuningRecord) -> None:
        data = asdict(record)
        ref = self._col.document(record.broadcaster_id)
        batch = self._db.batch()
        batch.set(ref, data)
        batch.create(ref.collection(HISTORY).document(), data)
        batch.commit()

    def latest(self, broadcaster_id: str) -> TuningRecord | None:
        snap = self._col.document(broadcaster_id).get()
        return TuningRecord.read(snap.to_dict() or {}) if snap.exists else None

    def recent(self, limit: int = 10) -> list[TuningRecord]:
        """The latest run of each channel, newest first."""
        query = self._col.order_by("at", direction=firestore.Query.DESCENDING).limit(limit)
        return [TuningRecord.read(s.to_dict() or {}) for s in query.stream()]

    def mark_reverted(self, broadcaster_id: str, *, by: str, at: datetime) -> None:
        self._col.document(broadcaster_id).update({"reverted_at": at, "reverted_by": by})

    def _stream_ref(self, broadcaster_id: str, stream_id: str) -> firestore.DocumentReference:
        return self._col.document(broadcaster_id).collection(STREAMS).document(stream_id)

    def claim_stream(self, broadcaster_id: str, stream_id: str, *, by: str, at: datetime) -> bool:
        """Take the stream for tuning; False when a run already took it (a plain `create()`,
        docs/architecture.md §5)."""
        try:
            self._stream_ref(broadcaster_id, stream_id).create({"by": by, "at": at})
        except AlreadyExists:
            return False
        return True

    def finish_stream(self, broadcaster_id: str, stream_id: str, *, outcome: str) -> None:
        """What the claimed run ended with (`tuned`, `unchanged`, or an unfixable error)."""
        self._stream_ref(broadcaster_id, stream_id).update({"outcome": outcome})

    def release_stream(self, broadcaster_id: str, stream_id: str) -> None:
        """Give the stream back after a failure a retry may fix, so the next run tunes it."""
        self._stream_ref(broadcaster_id, stream_id).delete()
