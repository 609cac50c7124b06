"""`python -m chatbot --replay FILE [--speed X]`: a chat log through the live pipeline.

The same `ChatRuntime` as the live bot (control plane listener, detectors, sink into the
`action_queue`, the auto-approval policy, mods' `!approve` / `!reject`, candidate
announcements), with replies logged instead of sent. `--speed 1` keeps the log's pace,
`--speed 10` is ten times faster, `--speed 0` goes as fast as possible. `--from-now` moves
the log's timestamps so its first line happens now: with `--speed 1` (the local stack) the
moments are fresh enough to be clipped live. The process exits once every line was fed and
every candidate written and every chat decision made.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from google.cloud import firestore

from chatbot.auto_policy import ChatPolicy
from chatbot.candidate_announcer import CandidateAnnouncer
from chatbot.chat_line import ChatLine
from chatbot.control import ControlPlaneWatch
from chatbot.decisions import ChatDecisions
from chatbot.llm import make_moment_writer
from chatbot.outbox import LogOutbox
from chatbot.replay_log import read_log
from chatbot.runtime import ChatRuntime
from chatbot.sink import CandidateSink, SinkOutcome
from shared.pipeline.auto_approve import AutoApprover
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.policy_uses import PolicyUses
from shared.store.queue_feed import QueueFeed

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 120.0


def shifted(lines: Sequence[ChatLine], first_at: float) -> list[ChatLine]:
    """The same chat, moved in time so that its first line is at `first_at`."""
    if not lines:
        return []
    delta = first_at - lines[0].ts
    return [replace(line, ts=line.ts + delta) for line in lines]


def feed(
    lines: Sequence[ChatLine],
    handle: Callable[[ChatLine], object],
    *,
    speed: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Call `handle` for every line, `speed` times faster than the log (0: no waiting)."""
    if speed < 0:
        raise ValueError("speed must be 0 (as fast as possible) or more")
    if not lines:
        return
    started, first = clock(), lines[0].ts
    for line in lines:
        if speed > 0:
            wait = started + (line.ts - first) / speed - clock()
            if wait > 0:
                sleep(wait)
        handle(line)


@dataclass
class ReplayReport:
    lines: int
    replies: list[str]
    outcomes: list[SinkOutcome]
    by_status: dict[str, int] = field(default_factory=dict)
    drained: bool = True
    decisions: dict[str, int] = field(default_factory=dict)
    auto_approved: int = 0

    def summary(self) -> dict[str, object]:
        sources = Counter(o.source for o in self.outcomes if o.status == "enqueued")
        return {
            "lines": self.lines,
            "replies": len(self.replies),
            "candidates": self.by_status,
            "enqueued_by_source": dict(sources),
            "chat_decisions": self.decisions,
            "auto_approved": self.auto_approved,
            "all_written": self.drained,
        }


def replay(
    lines: Sequence[ChatLine],
    db: firestore.Client,
    *,
    speed: float = 0.0,
    gemini_api_key: str | None = None,
) -> ReplayReport:
    watch = ControlPlaneWatch(ControlPlaneStore(db)).start()
    writer = make_moment_writer(gemini_api_key)
    logger.info("LLM goal", extra={"llm_goal": writer.status})
    queue, jobs, feed_of_queue = ActionQueue(db), ClipJobStore(db), QueueFeed(db)
    approver = AutoApprover(queue, jobs, PolicyUses(db))
    sink = CandidateSink(queue, watch, writer, after_enqueue=ChatPolicy(approver))
    outbox = LogOutbox()
    decisions = ChatDecisions(queue, jobs, feed_of_queue, outbox, settle=sink.drain)
    runtime = ChatRuntime(watch, sink, outbox, decisions=decisions)
    announcers = [
        CandidateAnnouncer(
            feed_of_queue,
            broadcaster_id=channel,
            post=lambda text: outbox.post(text, urgent=False),
            config=watch,
            instance=f"replay-{os.getpid()}",
        ).start()
        for channel in sorted({line.broadcaster_id for line in lines})
    ]
    try:
        feed(lines, runtime.handle, speed=speed)
        drained = sink.close(DRAIN_SECONDS)
        drained = decisions.close(DRAIN_SECONDS) and drained
    finally:
        for announcer in announcers:
            announcer.stop()
        watch.stop()
    return ReplayReport(
        lines=len(lines),
        replies=list(outbox.sent),
        outcomes=list(sink.outcomes),
        by_status=dict(sink.stats),
        drained=drained,
        decisions=dict(decisions.stats),
        auto_approved=approver.stats["approved"],
    )


def default_broadcaster() -> str | None:
    return os.environ.get("TWITCH_BROADCASTER_ID", "").strip() or None


def replay_file(
    path: Path, db: firestore.Client, *, speed: float = 0.0, from_now: bool = False
) -> ReplayReport:
    lines = read_log(path, default_broadcaster())
    if from_now:
        lines = shifted(lines, time.time())
    return replay(lines, db, speed=speed, gemini_api_key=os.environ.get("GEMINI_API_KEY"))
