"""The chat pipeline's pure core: one message in, detections and at most one reply out.

No I/O and no clock: everything runs on the message's own time, so the live bot, a replay
and the benchmark all take exactly this path. Per channel it keeps a short window of recent
chat (for excerpts and the LLM goal), the moment detector (which holds the attention budget),
the `!clip` gate, and the moments already proposed: one moment, one candidate. A reaction
near a proposed moment is dropped; an accepted `!clip` near one joins it (`merge_into`), so
the operator sees one candidate asked for by a person rather than two. `!clip` requests are
explicit and never wait for the budget.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from chatbot.chat_line import ChatLine
from chatbot.detection import Detection
from chatbot.detectors.clip_command import ClipCommandGate, parse_clip_command
from chatbot.detectors.moments import MomentDetector
from chatbot.replies import command_reply
from shared.domain.chat_settings import ChatSettings
from shared.domain.chat_tuning import TimelineBucket
from shared.domain.language import DEFAULT_LANGUAGE

RECENT_SECONDS = 30.0
RECENT_LINES = 200
PROPOSED_MEMORY_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class Reaction:
    """What one message caused: detections to enqueue and a reply to send."""

    detections: tuple[Detection, ...] = ()
    reply: str | None = None


NOTHING = Reaction()


class _Channel:
    __slots__ = ("command", "moments", "proposed", "recent")

    def __init__(self) -> None:
        self.recent: deque[ChatLine] = deque(maxlen=RECENT_LINES)
        self.moments = MomentDetector()
        self.command = ClipCommandGate()
        self.proposed: deque[tuple[float, str]] = deque()

    def proposed_near(self, moment_ts: float, within: float) -> str | None:
        """The key of a proposed moment within `within` seconds of `moment_ts`, if any."""
        proposed = self.proposed
        while proposed and proposed[0][0] < moment_ts - PROPOSED_MEMORY_SECONDS:
            proposed.popleft()
        best: tuple[float, str] | None = None
        for at, key in proposed:
            gap = abs(at - moment_ts)
            if gap < within and (best is None or gap < best[0]):
                best = (gap, key)
        return best[1] if best else None

    def propose(self, detection: Detection) -> Detection:
        key = f"{detection.broadcaster_id}:{detection.moment_ts:.3f}"
        self.proposed.append((detection.moment_ts, key))
        return replace(detection, moment_key=key)


class ChatBrain:
    """All channels' detector state. Not thread-safe: feed it from one thread (the chat loop)."""

    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}

    def observe(
        self,
        line: ChatLine,
        settings: ChatSettings,
        *,
        pipeline_enabled: bool,
        language: str = DEFAULT_LANGUAGE,
    ) -> Reaction:
        """Run every detector on one message. While the pipeline is off nothing is detected
        for enqueueing, but the detectors keep learning the channel's usual level. The reply
        speaks `language` (the control plane's)."""
        channel = self._channels.get(line.broadcaster_id)
        if channel is None:
            channel = self._channels[line.broadcaster_id] = _Channel()
        recent = channel.recent
        recent.append(line)
        horizon = line.ts - RECENT_SECONDS
        while recent[0].ts < horizon:
            recent.popleft()
        kept: list[Detection] = []
        moment = channel.moments.observe(line, settings, recent, emit=pipeline_enabled)
        if moment is not None:
            if channel.proposed_near(moment.moment_ts, settings.moment_merge_seconds):
                channel.moments.refund(moment.detected_ts)
            else:
                kept.append(channel.propose(moment))
        reply = None
        argument = parse_clip_command(line.text, settings.clip_command, language)
        if argument is not None:
            result = channel.command.handle(
                line, argument, settings, pipeline_enabled=pipeline_enabled, recent=recent
            )
            if settings.replies_enabled:
                reply = command_reply(line.user, result, settings, language)
            request = result.detection
            if request is not None:
                joined = channel.proposed_near(request.moment_ts, settings.moment_merge_seconds)
                if joined is not None:
                    kept.append(replace(request, moment_key=joined, merge_into=joined))
                else:
                    kept.append(channel.propose(request))
        if not kept:
            return Reaction(reply=reply) if reply else NOTHING
        if not pipeline_enabled:
            kept = []
        return Reaction(tuple(kept), reply)

    def take_timeline(self) -> list[tuple[str, TimelineBucket]]:
        """Every channel's finished feature buckets since the last call."""
        taken: list[tuple[str, TimelineBucket]] = []
        for broadcaster_id, channel in self._channels.items():
            taken.extend((broadcaster_id, bucket) for bucket in channel.moments.take_timeline())
        return taken
