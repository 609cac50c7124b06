"""Keyword and emote bursts from the weighted list `chat.keywords` (e.g. clip, POG, KEKW).

A message counts with the weight of its strongest keyword, and each chatter counts once per
window (only their first keyword message is stored), so repeating an emote, in one message or
in many, adds nothing. A burst needs `keyword_burst_weight` in `keyword_window_seconds` from
at least `keyword_min_chatters` chatters; afterwards the detector is quiet for
`refractory_seconds` and until the weight falls below half the bar.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from chatbot.chat_line import ChatLine
from chatbot.detection import Detection
from chatbot.titles import excerpt, keyword_title
from shared.domain.chat_settings import ChatSettings

_PUNCTUATION = "!?.,:;()[]{}\"'`~*"
_META = frozenset({"clip", "clipit"})  # say "clip this", not what happened: never a title


def strongest_keyword(text: str, keywords: dict[str, float]) -> tuple[str, str, float] | None:
    """(folded keyword, token as typed, weight) of the heaviest keyword in `text`, if any."""
    best: tuple[str, str, float] | None = None
    for token in text.split():
        key = token.casefold()
        weight = keywords.get(key)
        if weight is None:
            key = key.strip(_PUNCTUATION)
            weight = keywords.get(key)
            if weight is None:
                continue
        if best is None or weight > best[2]:
            best = (key, token.strip(_PUNCTUATION), weight)
    return best


class KeywordBurstDetector:
    """One channel's keyword state; feed every message in time order."""

    __slots__ = ("_armed", "_counted", "_last_ts", "_quiet_until", "_total", "_users")

    def __init__(self) -> None:
        self._counted: deque[tuple[float, str, str, str, float]] = deque()
        self._users: set[str] = set()
        self._total = 0.0
        self._armed = True
        self._quiet_until = -math.inf
        self._last_ts = -math.inf

    def observe(
        self, line: ChatLine, settings: ChatSettings, recent: Sequence[ChatLine]
    ) -> Detection | None:
        """Count one message; a Detection when it completes a burst."""
        ts = line.ts if line.ts > self._last_ts else self._last_ts
        self._last_ts = ts
        horizon = ts - settings.keyword_window_seconds
        counted, users = self._counted, self._users
        while counted and counted[0][0] < horizon:
            _, user, _, _, weight = counted.popleft()
            users.discard(user)
            self._total -= weight
        if not counted:
            self._total = 0.0
        if line.user_id not in users:
            match = strongest_keyword(line.text, settings.keywords)
            if match is not None:
                users.add(line.user_id)
                counted.append((ts, line.user_id, match[0], match[1], match[2]))
                self._total += match[2]
        bar = settings.keyword_burst_weight
        if not self._armed:
            if self._total < 0.5 * bar:
                self._armed = True
            return None
        if (
            self._total < bar
            or len(counted) < settings.keyword_min_chatters
            or ts < self._quiet_until
        ):
            return None
        self._armed = False
        self._quiet_until = ts + settings.refractory_seconds
        return self._detection(line, ts, settings, recent)

    def _detection(
        self, line: ChatLine, ts: float, settings: ChatSettings, recent: Sequence[ChatLine]
    ) -> Detection:
        weights: dict[str, float] = {}
        spelled: dict[str, str] = {}
        for _, _, key, typed, weight in self._counted:
            weights[key] = weights.get(key, 0.0) + weight
            spelled.setdefault(key, typed)
        named = {k: w for k, w in weights.items() if k not in _META} or weights
        top = max(named, key=lambda key: (named[key], key))
        ratio = self._total / settings.keyword_burst_weight
        intensity = min(1.0, max(0.0, (ratio - 1.0) / 2.0))
        breadth = min(1.0, len(self._counted) / (2.0 * settings.keyword_min_chatters))
        horizon = ts - settings.keyword_window_seconds
        lines = list(recent)
        in_window = [r for r in lines if r.ts >= horizon]
        return Detection(
            source="keyword",
            broadcaster_id=line.broadcaster_id,
            moment_ts=self._counted[0][0] - settings.reaction_lag_seconds,
            detected_ts=ts,
            score=round(0.4 + 0.4 * intensity + 0.2 * breadth, 3),
            title=keyword_title(spelled[top]),
            excerpt=excerpt(in_window),
            window=tuple(lines[-60:]),
        )
