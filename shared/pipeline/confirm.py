"""Confirms new clips with shared Get Clips calls: one call per tick covers every clip the
process is waiting on (up to 100 ids per call), instead of one polling loop per clip.

With several clips in flight this divides the Get Clips calls (and rate-limit points) between
them while every clip is still looked at twice a second, so a clip is confirmed within about
half a second of becoming visible (SPEC 4 gives it at most 15 s).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.domain.errors import ClipError
from shared.domain.twitch_models import Clip, TokenSource
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

CONFIRM_DEADLINE_SECONDS = 15.0


@dataclass
class _Waiter:
    clip_id: str
    tokens: TokenSource
    group: str
    not_before: float
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    clip: Clip | None = None


class ClipConfirmer:
    def __init__(
        self,
        twitch: HelixClips,
        *,
        interval: float = 0.5,
        first_look: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._twitch = twitch
        self._interval = interval
        self._first_look = first_look
        self._clock = clock
        self._waiters: list[_Waiter] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def wait_visible(
        self, tokens: TokenSource, clip_id: str, *, group: str, timeout: float
    ) -> Clip | None:
        """Block until Get Clips shows `clip_id` (the Clip) or `timeout` passes (None).

        `group` names whose token is used (waiters of one group share calls).
        """
        now = self._clock()
        waiter = _Waiter(clip_id, tokens, group, now + self._first_look, now + timeout)
        with self._lock:
            self._waiters.append(waiter)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="clip-confirmer", daemon=True
                )
                self._thread.start()
        self._wake.set()
        waiter.done.wait(timeout + 2 * self._interval + 5)
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return waiter.clip

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._waiters:
                    self._thread = None
                    return
                waiters = list(self._waiters)
            now = self._clock()
            for waiter in waiters:
                if now >= waiter.deadline:
                    self._finish(waiter, None)
            due = [w for w in waiters if w.not_before <= now < w.deadline]
            groups: dict[str, list[_Waiter]] = {}
            for waiter in due:
                groups.setdefault(waiter.group, []).append(waiter)
            for members in groups.values():
                self._look(members)
            self._wake.clear()
            upcoming = [w.not_before for w in waiters if w.not_before > now]
            pause = min([self._interval, *[t - now for t in upcoming]])
            self._wake.wait(max(pause, 0.01))

    def _look(self, members: list[_Waiter]) -> None:
        try:
            found = self._twitch.get_clips(members[0].tokens, [w.clip_id for w in members])
        except ClipError as error:
            logger.warning("confirming clips failed, will look again", extra={"e": error.code})
            return
        by_id = {clip.id: clip for clip in found}
        for waiter in members:
            if waiter.clip_id in by_id:
                self._finish(waiter, by_id[waiter.clip_id])

    def _finish(self, waiter: _Waiter, clip: Clip | None) -> None:
        waiter.clip = clip
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        waiter.done.set()
