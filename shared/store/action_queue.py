"""`action_queue/{action_id}`: the one approval queue (docs/architecture.md §3.1).

The action id is the candidate's dedupe key, so enqueue is a `create()`: a second enqueue of
the same moment collides and is reported as a duplicate. Every decision (approve, reject,
expire) also creates `action_queue/{id}/decision/final`, so two deciders racing cannot both
win, on the emulator as in production (docs/architecture.md §5).

Documents are read as documented (docs/architecture.md §3.1): the document id is the action id, the
document's create and update times stand in for our `created_at`/`updated_at`, and fields beyond the
documented ones are ignored. One that still does not parse (a wrong type, another `kind`) raises
`StoredDocumentUnreadable` naming the document and the fix; such an item can still be rejected
(archived) without parsing it, through the same decision record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, cast

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from google.cloud.firestore_v1.aggregation import AggregationQuery
from google.cloud.firestore_v1.base_aggregation import AggregationResult
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import BaseModel, ConfigDict

from shared.domain.clip_candidate import (
    DEFAULT_DEDUPE_WINDOW_SECONDS,
    MAX_EXCERPT_CHARS,
    ClipCandidate,
    new_candidate,
)
from shared.domain.clock import utc_now
from shared.domain.errors import (
    ActionAlreadyDecided,
    FieldProblem,
    StoredDocumentUnreadable,
)
from shared.domain.language import ENGLISH, N_, Phrase
from shared.domain.text import shorten
from shared.store.documents import existing, parse_document, readable, report_unreadable
from shared.store.exclusive import commit_led_by_create
from shared.store.live_query import LiveQuery

COLLECTION = "action_queue"
EXPIRED_KEPT = timedelta(days=7)
DECISION_COLLECTION = "decision"
DECISION_DOC = "final"
MERGE_SCORE_BONUS = 0.1
MAX_REQUESTERS = 20
KIND = "clip_candidate"
UNREADABLE_FIX = N_("reject it on the Queue page to archive it (nothing is clipped), or fix it")
UNDATED_REASON = "(it has no readable created_at: aged from when the document was written)"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How many pending items one listener keeps: far beyond a stream's worth of candidates.
PENDING_LIMIT = 500
_PAYLOAD_FIELDS = frozenset(
    name
    for field_name, info in ClipCandidate.model_fields.items()
    for name in (field_name, info.alias)
    if name
)


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
    # Ours, not docs/architecture.md §3.1's: a document without them reads its Firestore
    # create/update times.
    created_at: datetime | None = None
    updated_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    # Which path decided: `app`, `chat` or `policy` (the sweeper's expiry names none).
    decided_via: str | None = None
    decision_reason: str | None = None
    job_id: str | None = None
    requested_by: list[str] = []

    def to_firestore(self) -> dict[str, Any]:
        data = self.model_dump(exclude={"payload"})
        data["status"] = self.status.value
        data["payload"] = self.payload.to_firestore()
        return data


def read_item(snap: Any) -> ActionItem:
    """A stored item as docs/architecture.md §3.1 defines it, or StoredDocumentUnreadable naming
    the document, its refused fields and the fix (never their values)."""
    path = f"{COLLECTION}/{snap.id}"
    data = snap.to_dict() or {}
    kind = data.get("kind", KIND)
    if kind != KIND:
        shown = repr(kind[:40]) if isinstance(kind, str) else f"a {type(kind).__name__}"
        said = Phrase(
            N_("is {shown}, not {kind}: this app only handles {kind}"), shown=shown, kind=KIND
        )
        problem = FieldProblem("kind", said.say(ENGLISH), said)
        raise StoredDocumentUnreadable(path, [problem], UNREADABLE_FIX)
    fields = dict(data) | {"action_id": snap.id}
    payload = data.get("payload")
    if isinstance(payload, Mapping):
        fields["payload"] = {k: v for k, v in payload.items() if k in _PAYLOAD_FIELDS}
    for name, stand_in in (("created_at", "create_time"), ("updated_at", "update_time")):
        if fields.get(name) is None:
            fields[name] = getattr(snap, stand_in, None)
    return parse_document(ActionItem, path, fields, UNREADABLE_FIX)


def _newest_first(item: ActionItem) -> datetime:
    return item.created_at or item.payload.source_ts


@dataclass(frozen=True)
class Decision:
    """One decision on a queue item: what the item records and what its decision marker says."""

    status: ActionStatus
    by: str
    """An operator, a chatter's login, `policy <rule>` or `sweeper`."""
    at: datetime
    reason: str | None = None
    via: str | None = None
    """Which path decided: `app`, `chat` or `policy` (the sweeper's expiry names none)."""

    def item_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "status": self.status.value,
            "decided_at": self.at,
            "decided_by": self.by,
            "decision_reason": self.reason,
            "updated_at": self.at,
        }
        if self.via is not None:
            fields["decided_via"] = self.via
        if self.status is ActionStatus.EXPIRED:
            # Nobody decided it: Firestore's TTL policy deletes it after a week (deploy.sh).
            fields["expires_at"] = self.at + EXPIRED_KEPT
        return fields

    def marker(self) -> dict[str, Any]:
        return {"status": self.status.value, "by": self.by, "at": self.at, "via": self.via}


@dataclass(frozen=True)
class EnqueueResult:
    action_id: str
    duplicate: bool


@dataclass(frozen=True)
class MergeResult:
    """`merged` is False when this requester had already joined (a replay, a retry)."""

    action_id: str
    merged: bool
    status: ActionStatus


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
        """The item, None when there is none; StoredDocumentUnreadable when it does not parse."""
        snap = self.ref(action_id).get()
        return read_item(snap) if snap.exists else None

    def require(self, action_id: str) -> ActionItem:
        return read_item(existing(self.ref(action_id).get(), "action"))

    def _pending_query(self) -> firestore.Query:
        """No order_by: Firestore leaves out documents without the ordered field, and a documented
        3.1 item has no `created_at`. Callers sort."""
        return self._col.where(filter=FieldFilter("status", "==", ActionStatus.PENDING.value))

    def list_pending(self, limit: int = 200) -> list[ActionItem]:
        """Pending candidates, newest first; unreadable ones are logged and left out."""
        items = readable(self._pending_query().limit(PENDING_LIMIT).stream(), read_item)
        return sorted(items, key=_newest_first, reverse=True)[:limit]

    def watch_pending(self, *, limit: int = PENDING_LIMIT) -> LiveQuery[ActionItem]:
        """The pending items kept by a listener (`start()` it); unreadable ones are rows with
        their problem, so a page can flag them and still show the rest."""
        return LiveQuery(self._pending_query(), read_item, limit=limit, name="pending actions")

    def decide(
        self,
        action_id: str,
        status: ActionStatus,
        *,
        by: str,
        now: datetime,
        reason: str | None = None,
        also: Callable[[firestore.WriteBatch, ActionItem], str | None] | None = None,
        via: str | None = None,
    ) -> ActionItem:
        """Decide a pending item in one atomic batch; `also` adds writes (the job) to it.

        `also` returns the job id to record on the item. The batch creates the decision document, so
        of two deciders racing exactly one commits; the loser, or anyone deciding an item that is no
        longer pending, gets ActionAlreadyDecided and nothing is written. A batch rather than a
        transaction: no locks, so racers never abort each other, and the create() gives the same
        exclusivity on every emulator and in production (docs/architecture.md §5).
        """
        decision = Decision(status, by=by, at=now, reason=reason, via=via)
        item = self.require(action_id)
        if item.status is not ActionStatus.PENDING:
            raise ActionAlreadyDecided(action_id, item.status.value, item.decided_by)
        update = decision.item_fields()

        def writes(batch: firestore.WriteBatch) -> None:
            update["job_id"] = also(batch, item) if also else None
            batch.update(self.ref(action_id), update)

        self._commit_decision(action_id, decision, writes)
        return item.model_copy(update=update | {"status": status})

    def decide_unreadable(self, action_id: str, decision: Decision) -> None:
        """Reject or expire an item without parsing it (it may not parse): only its `status`
        is read, and the same decision record makes it race-safe against any other decider."""
        snap = existing(self.ref(action_id).get(), "action")
        stored = (snap.to_dict() or {}).get("status")
        if stored != ActionStatus.PENDING.value:
            raise ActionAlreadyDecided(action_id, str(stored)[:40])
        update = decision.item_fields()
        self._commit_decision(
            action_id, decision, lambda batch: batch.update(self.ref(action_id), update)
        )

    def reject_unreadable(
        self, action_id: str, *, by: str, reason: str | None = None, now: datetime | None = None
    ) -> None:
        """The operator's archive for an item the app cannot read: `rejected`, nothing clipped."""
        decision = Decision(ActionStatus.REJECTED, by=by, at=now or utc_now(), reason=reason)
        self.decide_unreadable(action_id, decision)

    def _commit_decision(
        self,
        action_id: str,
        decision: Decision,
        writes: Callable[[firestore.WriteBatch], None],
    ) -> None:
        if not commit_led_by_create(
            self._db, self.decision_ref(action_id), decision.marker(), writes
        ):
            snap = self.decision_ref(action_id).get()
            record = (snap.to_dict() or {}) if snap.exists else {}
            winner = record.get("status", "decided")
            first = record.get("by")
            raise ActionAlreadyDecided(
                action_id, str(winner), str(first) if first is not None else None
            )

    def reject(
        self,
        action_id: str,
        *,
        by: str,
        reason: str | None = None,
        now: datetime | None = None,
        via: str | None = None,
    ) -> ActionItem:
        return self.decide(
            action_id, ActionStatus.REJECTED, by=by, now=now or utc_now(), reason=reason, via=via
        )

    def expire_older_than(
        self, ttl: timedelta, *, now: datetime | None = None, limit: int = 200
    ) -> list[str]:
        """Expire pending items enqueued more than `ttl` ago; bounded per call.

        An item without a readable `created_at` (another tool's, docs/architecture.md §3.1) is
        aged from the document's own create time, and its reason says so."""
        now = now or utc_now()
        cutoff = now - ttl
        decision = Decision(
            ActionStatus.EXPIRED, by="sweeper", at=now, reason=f"not decided within {ttl}"
        )
        dated = self._pending_query().where(filter=FieldFilter("created_at", "<", cutoff))
        expired = [
            snap.id for snap in dated.limit(limit).stream() if self._expire(snap.id, decision)
        ]
        undated = replace(decision, reason=f"{decision.reason} {UNDATED_REASON}")
        for snap in self._undated_pending():
            if len(expired) >= limit:
                break
            created = snap.create_time
            if created is not None and created < cutoff and self._expire(snap.id, undated):
                expired.append(snap.id)
        return expired

    def _expire(self, action_id: str, decision: Decision) -> bool:
        """Whether this sweep expired the item; an unreadable one ages out like any other."""
        try:
            self.decide(
                action_id, decision.status, by=decision.by, now=decision.at, reason=decision.reason
            )
        except ActionAlreadyDecided:
            return False
        except StoredDocumentUnreadable as error:
            report_unreadable(error)
            try:
                self.decide_unreadable(action_id, decision)
            except ActionAlreadyDecided:
                return False
        return True

    def _undated_pending(self) -> Iterator[Any]:
        """Pending items whose `created_at` is missing or not a time: a range query never
        sees them. Two counts first, so a sweep where every item is dated reads no document."""
        pending = self._pending_query()
        dated = pending.where(filter=FieldFilter("created_at", ">=", EPOCH))
        if _count(pending) == _count(dated):
            return
        for snap in pending.select(["created_at"]).limit(PENDING_LIMIT).stream():
            if not isinstance((snap.to_dict() or {}).get("created_at"), datetime):
                yield snap

    def merge_request(
        self,
        action_id: str,
        *,
        requested_by: str,
        score: float,
        title: str | None = None,
        now: datetime | None = None,
    ) -> MergeResult:
        """A `!clip` (or a vision trigger) inside a moment that is already queued joins that
        candidate instead of becoming a second one: the requester is recorded, the excerpt
        starts with "asked for by @name" (and their title), and while the item is pending its
        score rises to at least the request's, plus a little, since a person agreed. Once per
        requester, so a retried or replayed request changes nothing; NotFound if the item is
        gone."""
        now = now or utc_now()
        ref = self.ref(action_id)

        @firestore.transactional
        def run(tx: firestore.Transaction) -> MergeResult:
            item = read_item(existing(ref.get(transaction=tx), "action"))
            if requested_by in item.requested_by:
                return MergeResult(action_id, False, item.status)
            asked = f"asked for by @{requested_by}" + (f": “{title}”" if title else "")
            excerpt = shorten(f"{asked} · {item.payload.context_excerpt}", MAX_EXCERPT_CHARS)
            changes: dict[str, Any] = {
                "requested_by": [*item.requested_by, requested_by][-MAX_REQUESTERS:],
                "payload.context_excerpt": excerpt,
                "updated_at": now,
            }
            if item.status is ActionStatus.PENDING:
                raised = min(1.0, max(item.payload.score, score) + MERGE_SCORE_BONUS)
                changes["payload.score"] = round(raised, 3)
            tx.update(ref, changes)
            return MergeResult(action_id, True, item.status)

        return run(self._db.transaction())


def _count(query: firestore.Query) -> int:
    # google-cloud-firestore types `count()` as returning the class, not an instance.
    aggregation = cast(AggregationQuery, query.count())
    result = cast("list[list[AggregationResult]]", aggregation.get())
    return int(result[0][0].value) if result else 0
