"""The chat pipeline's pure core: one message in, detections and at most one reply out.

No I/O and no clock: everything runs on the message's own time, so the live bot, a replay
and the benchmark all take exactly this path. Per channel it keeps a short window of recent
chat (for excerpts and the LLM goal), the detectors, and the time of the last moment, so
reaction detectors (spike, keywords) that fire for the same moment give one candidate.
`!clip` requests are explicit and always pass on their own.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from chatbot.chat_line import ChatLine
from chatbot.detection import Detection
from chatbot.detectors.clip_command import ClipCommandGate, parse_clip_command
from chatbot.detectors.keywords import KeywordBurstDetector
from chatbot.detectors.spike import SpikeDetector
from chatbot.replies import command_reply
from shared.domain.chat_settings import ChatSettings

RECENT_SECONDS = 30.0
RECENT_LINES = 200


@dataclass(frozen=True, slots=True)
class Reaction:
    """What one message caused: detections to enqueue and a reply to send."""

    detections: tuple[Detection, ...] = ()
    reply: str | None = None


NOTHING = Reaction()


class _Channel:
    __slots__ = ("command", "keywords", "last_moment", "recent", "spike")

    def __init__(self) -> None:
        self.recent: deque[ChatLine] = deque(maxlen=RECENT_LINES)
        self.spike = SpikeDetector()
        self.keywords = KeywordBurstDetector()
        self.command = ClipCommandGate()
        self.last_moment = -math.inf


class ChatBrain:
    """All channels' detector state. Not thread-safe: feed it from one thread (the chat loop)."""

    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}

    def observe(
        self, line: ChatLine, settings: ChatSettings, *, pipeline_enabled: bool
    ) -> Reaction:
        """Run every detector on one message. While the pipeline is off nothing is detected
        for enqueueing, but the detectors keep learning the channel's baseline."""
        channel = self._channels.get(line.broadcaster_id)
        if channel is None:
            channel = self._channels[line.broadcaster_id] = _Channel()
        recent = channel.recent
        recent.append(line)
        horizon = line.ts - RECENT_SECONDS
        while recent[0].ts < horizon:
            recent.popleft()
        found: list[Detection] = []
        spike = channel.spike.observe(line, settings, recent)
        if spike is not None:
            found.append(spike)
        burst = channel.keywords.observe(line, settings, recent)
        if burst is not None:
            found.append(burst)
        reply = None
        argument = parse_clip_command(line.text, settings.clip_command)
        if argument is not None:
            result = channel.command.handle(
                line, argument, settings, pipeline_enabled=pipeline_enabled, recent=recent
            )
            if settings.replies_enabled:
                reply = command_reply(line.user, result, settings)
            if result.detection is not None:
                channel.last_moment = max(channel.last_moment, result.detection.moment_ts)
                found.insert(0, result.detection)
        if not found:
            return Reaction(reply=reply) if reply else NOTHING
        kept: list[Detection] = []
        for detection in found:
            if detection.source != "command":
                if abs(detection.moment_ts - channel.last_moment) < settings.moment_merge_seconds:
                    continue
                channel.last_moment = detection.moment_ts
            kept.append(detection)
        if not pipeline_enabled:
            kept = []
        return Reaction(tuple(kept), reply)
