"""The chat pipeline with its edges: brain (pure) → sink (Firestore workers) and outbox.

`handle()` is what both the live bot and the replay call for every message. It does no I/O:
it reads the in-memory control plane, runs the detectors, hands detections to the sink and
the reply to the outbox, and returns. `!approve` / `!reject` from a chatter allowed to decide
go to the decision worker (`chatbot.decisions`); a `!clip` detection carries the requester's
roles to the sink, for the auto-approval policy.
"""

from __future__ import annotations

from typing import Protocol

from chatbot.approval_commands import ApprovalGate, DecisionRequest, parse_approval_command
from chatbot.brain import NOTHING, ChatBrain, Reaction
from chatbot.chat_line import ChatLine
from chatbot.control import ConfigSource
from chatbot.outbox import Outbox
from chatbot.sink import CandidateSink
from shared.domain.chat_tuning import TimelineBucket


class DecisionSink(Protocol):
    """`chatbot.decisions.ChatDecisions` fits: queues a decision, never blocks."""

    def submit(self, request: DecisionRequest) -> bool: ...


class TimelineSink(Protocol):
    """`chatbot.timeline.TimelineWriter` fits: takes finished feature buckets, never blocks."""

    def add(self, buckets: list[tuple[str, TimelineBucket]]) -> None: ...


class ChatRuntime:
    def __init__(
        self,
        config: ConfigSource,
        sink: CandidateSink,
        outbox: Outbox,
        *,
        brain: ChatBrain | None = None,
        decisions: DecisionSink | None = None,
        timeline: TimelineSink | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.outbox = outbox
        self.brain = brain or ChatBrain()
        self.decisions = decisions
        self.timeline = timeline
        self.approvals = ApprovalGate()
        self.messages = 0
        self.last_message_ts: float | None = None

    def handle(self, line: ChatLine, *, own: bool = False) -> Reaction:
        """One chat message through the pipeline; never blocks on I/O.

        `own`: the bot's own message coming back; it is not chat's reaction to anything, but
        its badges say which chat limit applies to the bot."""
        if own:
            self.outbox.set_privileged(line.privileged)
            return NOTHING
        self.messages += 1
        self.last_message_ts = line.ts
        live = self.config.current()
        language = live.clips.language
        reaction = self.brain.observe(
            line, live.chat, pipeline_enabled=live.clips.clip_pipeline_enabled, language=language
        )
        if self.timeline is not None:
            self.timeline.add(self.brain.take_timeline())
        for detection in reaction.detections:
            roles = line.roles if detection.source == "command" else frozenset()
            self.sink.submit(detection, requester_roles=roles)
        if reaction.reply:
            self.outbox.post(reaction.reply)
        command = parse_approval_command(line.text) if self.decisions is not None else None
        if command is not None and self.decisions is not None:
            gated = self.approvals.handle(
                line, command, live.clips.approval, login=line.login or line.user, language=language
            )
            if gated.request is not None:
                self.decisions.submit(gated.request)
            if gated.reply:
                self.outbox.post(gated.reply)
        return reaction
