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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from chatbot.announcer import ChannelAnnouncer
from chatbot.approval_commands import announcement
from shared.domain.approval_codes import shown_codes
from shared.domain.approval_policy import PolicyFacts, plan_now
from shared.domain.moment_plan import PlanMode
from shared.domain.sliding_window import SlidingWindow
from shared.store.action_queue import ActionItem
from shared.store.queue_feed import QueueFeed

logger = logging.getLogger(__name__)

MINUTE = 60.0


@dataclass(eq=False)
class CandidateAnnouncer(ChannelAnnouncer):
    """Listens to the pending queue and announces each new candidate of its channel once."""

    THREADS = "chat-candidates"

    feed: QueueFeed
    monotonic: Callable[[], float] = field(default=time.monotonic, kw_only=True)
    skipped: int = field(default=0, init=False)
    _window: SlidingWindow = field(init=False, default_factory=partial(SlidingWindow, 1, MINUTE))

    def start(self, timeout: float = 15.0) -> CandidateAnnouncer:
        if not self._listener.start(self.feed.watch_pending(self._on_items), timeout):
            logger.warning("candidate announcer: no snapshot yet from action_queue")
        return self

    def _on_items(self, pending: list[ActionItem], added: list[ActionItem]) -> None:
        try:
            self._announce_new(pending, added)
        except Exception:
            logger.exception("candidate announcer: could not read an action_queue snapshot")
        finally:
            self._listener.first.set()

    def _announce_new(self, pending: list[ActionItem], added: list[ActionItem]) -> None:
        config = self.config.current().clips
        settings = config.approval
        ours = [item for item in pending if item.payload.broadcaster_id == self.broadcaster_id]
        if not settings.announce_sources or not added:
            for item in added:
                self._listener.first_time(item.action_id)
            return
        codes = shown_codes(item.action_id for item in ours)
        now = self.clock()
        self._window.limit = settings.announce_max_per_minute
        for item in added:
            payload = item.payload
            if not self._listener.first_time(item.action_id):
                continue
            if payload.broadcaster_id != self.broadcaster_id:
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
            if self._window.wait(self.monotonic()) > 0:
                self.skipped += 1
                logger.info(
                    "candidate not announced: announcement limit per minute reached",
                    extra={"action_id": item.action_id},
                )
                continue
            self._window.record(self.monotonic())
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
            won = self.feed.claim_announcement(action_id, by=self.instance, now=self.clock())
        except Exception:
            logger.exception("candidate announcer: could not claim", extra={"action_id": action_id})
            return
        if not won:
            return
        self.announced += 1
        logger.info("candidate announced in chat", extra={"action_id": action_id})
        self.post(text)
