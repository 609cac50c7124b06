"""Where replies go: Twitch chat through one paced sender task, or the log during a replay.

`post()` is safe from any thread and never blocks (the clip-ready announcer posts from a
Firestore listener thread). Answers to a chatter (`urgent`, the default) go before clip-ready
announcements, so a burst of finished clips never delays a `!clip` acknowledgement. The
sender paces messages with `ChatRateLimiter` and hands each to Twitch as its own task, so one
slow send does not hold the next. A message that would wait behind `max_queue` others is
dropped: a late chat reply is worse than none.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from chatbot.rate_limit import ChatRateLimiter

logger = logging.getLogger(__name__)

MAX_SENDS_IN_FLIGHT = 4


class Outbox(Protocol):
    def post(self, text: str, *, urgent: bool = True) -> None: ...

    def set_privileged(self, privileged: bool) -> None: ...


class LogOutbox:
    """Replay: replies are logged and kept, nothing is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def post(self, text: str, *, urgent: bool = True) -> None:
        with self._lock:
            self.sent.append(text)
        logger.info("bot would say", extra={"reply": text})

    def set_privileged(self, privileged: bool) -> None:
        return None


class ChatOutbox:
    """Sends on the event loop, within Twitch's chat limits, chatters' answers first."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        *,
        limiter: ChatRateLimiter | None = None,
        max_queue: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self.limiter = limiter or ChatRateLimiter()
        self._clock = clock
        self._max_queue = max_queue
        self._order = itertools.count()
        self._queue: asyncio.PriorityQueue[tuple[int, int, str]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self.sent = 0
        self.dropped = 0
        self.failed = 0

    def start(self) -> None:
        """Start the sender on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.PriorityQueue()
        self._slots = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)
        self._task = self._loop.create_task(self._run(), name="chat-outbox")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=2.0)

    def set_privileged(self, privileged: bool) -> None:
        if privileged != self.limiter.privileged:
            self.limiter.privileged = privileged
            logger.info(
                "chat send limit follows the bot's role",
                extra={"limit_per_30s": self.limiter.limit},
            )

    def post(self, text: str, *, urgent: bool = True) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            logger.warning("chat outbox not running: reply dropped")
            return
        item = (0 if urgent else 1, next(self._order), text)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._put(item)
        else:
            loop.call_soon_threadsafe(self._put, item)

    def _put(self, item: tuple[int, int, str]) -> None:
        assert self._queue is not None
        if self._queue.qsize() >= self._max_queue:
            self.dropped += 1
            logger.warning("chat outbox full: message dropped", extra={"queued": self._max_queue})
            return
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        assert self._queue is not None and self._slots is not None
        while True:
            _, _, text = await self._queue.get()
            wait = self.limiter.wait(self._clock())
            if wait > 0:
                await asyncio.sleep(wait)
            self.limiter.record(self._clock())
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver(text))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _deliver(self, text: str) -> None:
        assert self._slots is not None
        try:
            await self._send(text)
            self.sent += 1
        except Exception as error:
            self.failed += 1
            logger.warning("chat message not sent", extra={"error_type": type(error).__name__})
        finally:
            self._slots.release()
