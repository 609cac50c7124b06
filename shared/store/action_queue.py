"""`action_queue/{action_id}`: the one approval queue (SPEC 3.1).

The action id is the candidate's dedupe key, so enqueue is a `create()`: a second enqueue of
the same moment collides and is reported as a duplicate. Every decision (approve, reject,
expire) also creates `action_queue/{id}/decision/final`, so two deciders racing cannot both
win, on the emulator as in production (SPEC 7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import BaseModel, ConfigDict

from shared.domain.clip_candidate import DEFAULT_DEDUPE_WINDOW_SECONDS, ClipCandidate, new_candidate
from shared.domain.clock import utc_now
from shared.domain.errors import ActionAlreadyDecided, NotFound
from shared.store.exclusive import commit_led_by_create

COLLECTION = "action_queue"
DECISION_COLLECTION = "decision"
DECISION_DOC = "final"


class ActionStatus(StrEnum):
    PENDING = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ActionItem(BaseModel):
    """An `action_queue` document of kind `clip_candidate`."""

    model_config = ConfigDict(extra="ignore")

    action_id: str
    kind: Literal["clip_candidate"] = "clip_candidate"
    risk: str = "suggest_streamer"
    status: ActionStatus = ActionStatus.PENDING
    payload: ClipCandidate
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    job_id: str | None = None

    def to_firestore(self) -> dict[str, Any]:
        data = self.model_dump(exclude={"payload"})
        data["status"] = self.status.value
        data["payload"] = self.payload.to_firestore()
        return data


@dataclass(frozen=True)
class EnqueueResult:
    action_id: str
    duplicate: bool


class ActionQueue:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection(COLLECTION)

    def ref(self, action_id: str) -> firestore.DocumentReference:
        return self._col.document(action_id)

    def decision_ref(self, action_id: str) -> firestore.DocumentReference:
        return self.ref(action_id).collection(DECISION_COLLECTION).document(DECISION_DOC)

    def enqueue(self, candidate: ClipCandidate, *, now: datetime | None = None) -> EnqueueResult:
        """Add a validated candidate; the same moment twice is a duplicate, not an error."""
        now = now or utc_now()
        item = ActionItem(
            action_id=candidate.dedupe_key, payload=candidate, created_at=now, updated_at=now
        )
        try:
            self.ref(item.action_id).create(item.to_firestore())
        except AlreadyExists:
            return EnqueueResult(item.action_id, duplicate=True)
        return EnqueueResult(item.action_id, duplicate=False)

    def submit(
        self,
        fields: Mapping[str, Any],
        *,
        dedupe_window_seconds: int = DEFAULT_DEDUPE_WINDOW_SECONDS,
        now: datetime | None = None,
    ) -> EnqueueResult:
        """Validate raw candidate fields, then enqueue; a refused candidate writes nothing."""
        candidate = new_candidate(fields, dedupe_window_seconds=dedupe_window_seconds)
        return self.enqueue(candidate, now=now)

    def get(self, action_id: str) -> ActionItem | None:
        snap = self.ref(action_id).get()
        return ActionItem.model_validate(snap.to_dict()) if snap.exists else None

    def require(self, action_id: str) -> ActionItem:
        item = self.get(action_id)
        if item is None:
            raise NotFound("action", action_id)
        return item

    def list_pending(self, limit: int = 200) -> list[ActionItem]:
        """Pending candidates, newest first."""
        query = (
            self._col.where(filter=FieldFilter("status", "==", ActionStatus.PENDING.value))
            .order_by("created_at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [ActionItem.model_validate(s.to_dict()) for s in query.stream()]

    def decide(
        self,
        action_id: str,
        status: ActionStatus,
        *,
        by: str,
        now: datetime,
        reason: str | None = None,
        also: Callable[[firestore.WriteBatch, ActionItem], str | None] | None = None,
    ) -> ActionItem:
        """Decide a pending item in one atomic batch; `also` adds writes (the job) to it.

        `also` returns the job id to record on the item. The batch creates the decision
        document, so of two deciders racing exactly one commits; the loser, or anyone deciding
        an item that is no longer pending, gets ActionAlreadyDecided and nothing is written.
        A batch rather than a transaction: no locks, so racers never abort each other, and the
        create() gives the same exclusivity on every emulator and in production (SPEC 7).
        """
        item = self.require(action_id)
        if item.status is not ActionStatus.PENDING:
            raise ActionAlreadyDecided(action_id, item.status.value)
        update: dict[str, Any] = {
            "status": status.value,
            "decided_at": now,
            "decided_by": by,
            "decision_reason": reason,
            "updated_at": now,
        }

        def writes(batch: firestore.WriteBatch) -> None:
            update["job_id"] = also(batch, item) if also else None
            batch.update(self.ref(action_id), update)

        marker = {"status": status.value, "by": by, "at": now}
        if not commit_led_by_create(self._db, self.decision_ref(action_id), marker, writes):
            snap = self.decision_ref(action_id).get()
            winner = (snap.to_dict() or {}).get("status", "decided") if snap.exists else "decided"
            raise ActionAlreadyDecided(action_id, winner)
        return item.model_copy(update=update | {"status": status})

    def reject(
        self, action_id: str, *, by: str, reason: str | None = None, now: datetime | None = None
    ) -> ActionItem:
        return self.decide(
            action_id, ActionStatus.REJECTED, by=by, now=now or utc_now(), reason=reason
        )

    def expire_older_than(
        self, ttl: timedelta, *, now: datetime | None = None, limit: int = 200
    ) -> list[str]:
        """Expire pending items enqueued more than `ttl` ago; bounded per call."""
        now = now or utc_now()
        cutoff = now - ttl
        query = (
            self._col.where(filter=FieldFilter("status", "==", ActionStatus.PENDING.value))
            .where(filter=FieldFilter("created_at", "<", cutoff))
            .limit(limit)
        )
        expired = []
        for snap in query.stream():
            try:
                self.decide(
                    snap.id,
                    ActionStatus.EXPIRED,
                    by="sweeper",
                    now=now,
                    reason=f"not decided within {ttl}",
                )
            except ActionAlreadyDecided:
                continue
            expired.append(snap.id)
        return expired
