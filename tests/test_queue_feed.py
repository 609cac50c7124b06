"""The pending-queue feed the fast deciders listen to keeps listening when one callback fails
(on the emulator): an exception escaping into Firestore's listener thread would end the watch
silently, and the chat bot would stop seeing candidates."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest

from shared.store.action_queue import ActionItem, ActionQueue
from shared.store.queue_feed import QueueFeed
from tests.factories import live_fields

pytestmark = pytest.mark.firestore


def test_a_failing_callback_is_logged_and_the_feed_goes_on(db, caplog):
    seen: list[list[str]] = []
    first_snapshot, second = threading.Event(), threading.Event()

    def on_items(pending: list[ActionItem], added: list[ActionItem]) -> None:
        seen.append([item.action_id for item in added])
        if len(seen) == 1:
            first_snapshot.set()
            raise RuntimeError("the first snapshot breaks the callback")
        if any(added):
            second.set()

    caplog.set_level(logging.ERROR, logger="shared.store.queue_feed")
    watch = QueueFeed(db).watch_pending(on_items)
    try:
        assert first_snapshot.wait(15.0), "no first snapshot"
        first = ActionQueue(db).submit(live_fields(source_ts=datetime.now(UTC).isoformat()))
        assert second.wait(15.0), f"the feed stopped after the failing callback: {seen}"
        assert first.action_id in {action_id for batch in seen for action_id in batch}
    finally:
        watch.unsubscribe()
    assert any("still listening" in r.getMessage() for r in caplog.records)
