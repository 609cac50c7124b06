"""A store's listener whose snapshots are handled off the listener's thread.

The chat bot's two announcers and the Discord relay each listen to a feed, hand the slow work
(a chat post, a webhook call) to a small pool, count as started once the first snapshot was
handled, hand each thing a snapshot holds to the pool once (the next snapshot holds it again),
and on stop let go of the listener before finishing what the pool holds. This is that
lifecycle, once.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol


class Subscription(Protocol):
    """What a store's listener returns: it can say whether it runs, and be stopped."""

    @property
    def is_active(self) -> bool: ...

    def unsubscribe(self) -> None: ...


class SnapshotListener:
    """The listener, the pool its handlers submit to, and `first`, set by the handler."""

    def __init__(self, *, workers: int, thread_name_prefix: str) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=thread_name_prefix)
        self.first = threading.Event()
        self._watch: Subscription | None = None
        self._seen: set[Hashable] = set()
        self._seen_lock = threading.Lock()

    @property
    def listening(self) -> bool:
        return self._watch is not None and bool(self._watch.is_active)

    def first_time(self, key: Hashable) -> bool:
        """True only the first time this listener meets `key`."""
        with self._seen_lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def start(self, watch: Subscription, timeout: float) -> bool:
        """Keep `watch`; whether its first snapshot was handled within `timeout` seconds."""
        self._watch = watch
        return self.first.wait(timeout)

    def stop(self) -> None:
        """No new snapshots, then wait for the work already handed to the pool."""
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.unsubscribe()
        self.pool.shutdown(wait=True, cancel_futures=False)
