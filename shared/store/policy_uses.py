"""The auto-approval policy's caps, counted race-safely: one document per use, created.

A rule's uses in one window (`hour`, or a stream) are numbered 1, 2, 3...; use N is
`approval_policy_uses/{rule}--{window}/uses/{N:06d}`, made with `commit_led_by_create`. Two
processes taking the next use race on the same document id, so exactly one gets it and the other
counts again (docs/architecture.md §5): no transaction, the same guarantee on the emulator and in
production. The rolling hour is checked on the use `limit` back: if it is less than an hour old,
`limit` uses already fall in the last hour.

A use is spent before the approval is made: if a person decides the candidate first, the use
still counts, so a cap can only err towards fewer automatic approvals, never more.
"""

from __future__ import annotations

from datetime import datetime

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.domain.approval_policy import cap_reached
from shared.store.exclusive import commit_led_by_create

COLLECTION = "approval_policy_uses"
USES = "uses"
HOUR_WINDOW = "hour"
MAX_RACES = 8


class PolicyUses:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection(COLLECTION)

    def _uses(self, rule: str, window: str) -> firestore.CollectionReference:
        return self._col.document(f"{rule}--{window}").collection(USES)

    def _state(
        self, uses: firestore.CollectionReference, limit: int, hourly: bool
    ) -> tuple[int, datetime | None]:
        """The number of the last use, and when the use `limit` back from the next was made."""
        query = uses.order_by("n", direction=firestore.Query.DESCENDING).limit(1)
        latest = next(iter(query.stream()), None)
        taken = int((latest.to_dict() or {}).get("n", 0)) if latest is not None else 0
        oldest = None
        back = taken + 1 - limit
        if hourly and back >= 1:
            snap = uses.document(f"{back:06d}").get()
            oldest = (snap.to_dict() or {}).get("at") if snap.exists else None
        return taken, oldest

    def reached(self, rule: str, *, window: str, limit: int, hourly: bool, now: datetime) -> bool:
        """Whether the next use would exceed the cap (a read; `take` decides for real)."""
        taken, oldest = self._state(self._uses(rule, window), limit, hourly)
        return cap_reached(
            taken=taken, limit=limit, oldest_in_window=oldest, now=now, hourly=hourly
        )

    def take(
        self,
        rule: str,
        *,
        window: str,
        limit: int,
        hourly: bool,
        action_id: str,
        now: datetime,
    ) -> int | None:
        """Spend the next use under the cap: its number, or None when the cap is reached."""
        uses = self._uses(rule, window)
        for _ in range(MAX_RACES):
            taken, oldest = self._state(uses, limit, hourly)
            if cap_reached(
                taken=taken, limit=limit, oldest_in_window=oldest, now=now, hourly=hourly
            ):
                return None
            number = taken + 1
            data = {"n": number, "rule": rule, "window": window, "action_id": action_id, "at": now}
            if commit_led_by_create(
                self._db, uses.document(f"{number:06d}"), data, lambda batch: None
            ):
                return number
        return None

    def count_since(self, rule: str, *, window: str, since: datetime) -> int:
        """How many uses of a window were made at or after `since` (for pages and tests)."""
        query = self._uses(rule, window).where(filter=FieldFilter("at", ">=", since))
        return sum(1 for _ in query.stream())
