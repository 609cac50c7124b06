"""New candidates announced in chat with their code, so mods decide while the moment is fresh.

`Clip? K7 “Boss one-shots the streamer” — mods: !approve K7`. Off by default: only sources in
`approval.announce_sources` are announced, at most `approval.announce_max_per_minute`
(and through the outbox, under Twitch's chat limits, after every answer to a chatter). A
candidate is announced only while a live clip can still hold its moment (the planner, as the
worker will run it); an older one is the app's. The queue's listener feeds a worker that
claims the announcement (`QueueFeed.claim_announcement`), so of two bot instances one posts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from chatbot.approval_commands import announcement
from chatbot.control import ConfigSource
from shared.domain.approval_codes import shown_codes
from shared.domain.approval_policy import PolicyFacts, plan_now
from shared.domain.clock import Clock, utc_now
from shared.domain.moment_plan import PlanMode
from shared.domain.sliding_window import SlidingWindow
from shared.pipeline.snapshot_listener import SnapshotListener
from shared.store.action_queue import ActionItem
from shared.store.queue_feed import QueueFeed

logger = logging.getLogger(__name__)

MINUTE = 60.0


class CandidateAnnouncer:
    def __init__(
        self,
        feed: QueueFeed,
        *,
        broadcaster_id: str,
        post: Callable[[str], None],
        config: ConfigSource,
        instance: str,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._feed = feed
        self._broadcaster_id = broadcaster_id
        self._post = post
        self._config = config
        self._instance = instance
        self._clock = clock
        self._monotonic = monotonic
        self._window = SlidingWindow(1, MINUTE)
        self._listener = SnapshotListener(workers=1, thread_name_prefix="chat-candidates")
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.announced = 0
        self.skipped = 0

    @property
    def listening(self) -> bool:
        return self._listener.listening

    def start(self, timeout: float = 15.0) -> CandidateAnnouncer:
        if not self._listener.start(self._feed.watch_pending(self._on_items), timeout):
            logger.warning("candidate announcer: no snapshot yet from action_queue")
        return self

    def stop(self) -> None:
        self._listener.stop()

    def _on_items(self, pending: list[ActionItem], added: list[ActionItem]) -> None:
        try:
            self._announce_new(pending, added)
        except Exception:
            logger.exception("candidate announcer: could not read an action_queue snapshot")
        finally:
            self._listener.first.set()

    def _announce_new(self, pending: list[ActionItem], added: list[ActionItem]) -> None:
        config = self._config.current().clips
        settings = config.approval
        ours = [item for item in pending if item.payload.broadcaster_id == self._broadcaster_id]
        if not settings.announce_sources or not added:
            with self._lock:
                self._seen.update(item.action_id for item in added)
            return
        codes = shown_codes(item.action_id for item in ours)
        now = self._clock()
        self._window.limit = settings.announce_max_per_minute
        for item in added:
            payload = item.payload
            with self._lock:
                if item.action_id in self._seen:
                    continue
                self._seen.add(item.action_id)
            if payload.broadcaster_id != self._broadcaster_id:
                continue
            if payload.source not in settings.announce_sources:
                continue
            plan = plan_now(
                PolicyFacts.of(item.action_id, payload),
                now=now,
                pre_roll=config.clip_pre_roll_seconds,
                post_roll=config.clip_post_roll_seconds,
            )
            if plan.mode is not PlanMode.LIVE:
                self.skipped += 1
                logger.info(
                    "candidate not announced: a live clip can no longer hold its moment",
                    extra={"action_id": item.action_id, "plan": plan.label},
                )
                continue
            if self._window.wait(self._monotonic()) > 0:
                self.skipped += 1
                logger.info(
                    "candidate not announced: announcement limit per minute reached",
                    extra={"action_id": item.action_id},
                )
                continue
            self._window.record(self._monotonic())
            text = announcement(
                codes.get(item.action_id, "?"),
                payload.suggested_title,
                payload.source,
                settings,
                config.language,
            )
            self._listener.pool.submit(self._claim_and_post, item.action_id, text)

    def _claim_and_post(self, action_id: str, text: str) -> None:
        try:
            won = self._feed.claim_announcement(action_id, by=self._instance, now=self._clock())
        except Exception:
            logger.exception("candidate announcer: could not claim", extra={"action_id": action_id})
            return
        if not won:
            return
        self.announced += 1
        logger.info("candidate announced in chat", extra={"action_id": action_id})
        self._post(text)
