"""Writes the brain's feature timeline to Firestore off the chat loop, once a minute.

The after-stream tuning (`shared.pipeline.chat_tuning`) reads it back. A write that fails is
logged and its buckets dropped: the timeline helps tuning, it must never slow chat down or
grow without bound while Firestore is away.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Protocol

from shared.domain.chat_tuning import TimelineBucket

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 60.0
MAX_WAITING = 20_000


class TimelineStore(Protocol):
    """`shared.store.chat_timeline.ChatTimelineStore` fits."""

    def append(self, broadcaster_id: str, buckets: Iterable[TimelineBucket]) -> int: ...


class TimelineWriter:
    def __init__(self, store: TimelineStore, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._waiting: deque[tuple[str, TimelineBucket]] = deque(maxlen=MAX_WAITING)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    def add(self, buckets: list[tuple[str, TimelineBucket]]) -> None:
        """Hand finished buckets over; never blocks on I/O."""
        if buckets:
            with self._lock:
                self._waiting.extend(buckets)

    def start(self) -> TimelineWriter:
        self._thread = threading.Thread(target=self._loop, name="chat-timeline", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            taken = list(self._waiting)
            self._waiting.clear()
        by_channel: dict[str, list[TimelineBucket]] = defaultdict(list)
        for broadcaster_id, bucket in taken:
            by_channel[broadcaster_id].append(bucket)
        for broadcaster_id, buckets in by_channel.items():
            try:
                self.written += self._store.append(broadcaster_id, buckets)
            except Exception:
                logger.exception(
                    "chat timeline: buckets could not be written and were dropped",
                    extra={"broadcaster_id": broadcaster_id, "buckets": len(buckets)},
                )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.flush()
