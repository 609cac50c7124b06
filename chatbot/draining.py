"""Shutting down work that is queued off the chat loop: wait for it first, then stop.

The candidate sink and the chat decisions both count what they queued (`_pending`, guarded by
the condition `_lock`, notified whenever it drops) and run it on a thread pool (`_pool`); this
is the one way they drain and close, so a SIGTERM finishes the same for both.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


class Draining:
    """`drain()` and `close()` for a class with `_lock`, `_pending` and `_pool`."""

    _lock: threading.Condition
    _pending: int
    _pool: ThreadPoolExecutor

    def drain(self, timeout: float) -> bool:
        """Wait until everything submitted was handled (True) or `timeout` passed."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Finish what is queued for up to `timeout` seconds, then stop the workers."""
        drained = self.drain(timeout)
        self._pool.shutdown(wait=drained, cancel_futures=True)
        return drained
