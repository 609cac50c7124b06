"""Chat spike: the message rate of one channel against its own rolling baseline.

Only messages that count are stored: each chatter counts at most `per_chatter_cap` times per
window and a spike also needs `min_distinct_chatters`, so one spammer never makes a spike.
The bar is `spike_multiplier` times the messages the baseline expects in the window, and
never less than what a Poisson process at the baseline rate exceeds once in 100,000
windows: in a quiet channel a handful of messages is noise, not a moment.
The baseline is a bias-corrected per-second EWMA (time constant `baseline_seconds`) whose
inputs are capped at `spike_multiplier` times the baseline, so a burst cannot lift its own bar
quickly while a channel that really grows busier still moves it. After a silence longer than
`baseline_seconds` (stream offline, bot restarted) the baseline starts afresh, with a warm-up,
so the first busy minute after a break is not taken for a spike. After a spike the detector
is quiet for `refractory_seconds` and until chat falls back below half the bar: one moment,
one candidate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from chatbot.chat_line import ChatLine
from chatbot.detection import Detection
from chatbot.titles import excerpt, spike_title
from shared.domain.chat_settings import ChatSettings

FALSE_ALARM = 1e-5


def poisson_bar(expected: float, tail: float = FALSE_ALARM) -> int:
    """The smallest count c with P(N >= c) <= tail for N ~ Poisson(expected)."""
    if expected <= 0:
        return 1
    if expected > 200:
        return math.ceil(expected + 5.0 * math.sqrt(expected))
    term = math.exp(-expected)
    below, count = term, 0
    while 1.0 - below > tail:
        count += 1
        term *= expected / count
        below += term
    return count + 1


class SpikeDetector:
    """One channel's spike state; feed every message in time order."""

    __slots__ = (
        "_armed",
        "_bar",
        "_bar_for",
        "_counted",
        "_ewma",
        "_first_ts",
        "_last_ts",
        "_per_user",
        "_quiet_until",
        "_sec",
        "_sec_count",
        "_seconds",
        "_weight",
    )

    def __init__(self) -> None:
        self._counted: deque[tuple[float, str]] = deque()
        self._per_user: dict[str, int] = {}
        self._seconds: deque[list[float]] = deque()  # [second, counted, first ts]
        self._ewma = 0.0
        self._weight = 0.0
        self._sec = -1
        self._sec_count = 0
        self._first_ts = 0.0
        self._last_ts = -math.inf
        self._armed = True
        self._quiet_until = -math.inf
        self._bar = 0.0
        self._bar_for: tuple[int, ChatSettings | None] = (-1, None)

    def bar(self, settings: ChatSettings) -> float:
        """Counted messages in the window that make a spike (recomputed once a second)."""
        if self._bar_for[0] != self._sec or self._bar_for[1] is not settings:
            expected = self.baseline_per_second(settings) * settings.spike_window_seconds
            self._bar = max(settings.spike_multiplier * expected, poisson_bar(expected))
            self._bar_for = (self._sec, settings)
        return self._bar

    def baseline_per_second(self, settings: ChatSettings) -> float:
        """The baseline rate the bar is built on (never below the configured floor)."""
        base = self._ewma / self._weight if self._weight > 0 else 0.0
        return max(base, settings.baseline_floor_per_minute / 60.0)

    def _fold_seconds(self, sec: int, settings: ChatSettings) -> None:
        if self._sec >= 0:
            alpha = 1.0 / settings.baseline_seconds
            cap = settings.spike_multiplier * self.baseline_per_second(settings)
            value = min(float(self._sec_count), cap)
            self._ewma += alpha * (value - self._ewma)
            self._weight += alpha * (1.0 - self._weight)
            gap = sec - self._sec - 1
            if gap > 0:
                decay = (1.0 - alpha) ** gap
                self._ewma *= decay
                self._weight = 1.0 - (1.0 - self._weight) * decay
        self._sec = sec
        self._sec_count = 0

    def observe(
        self, line: ChatLine, settings: ChatSettings, recent: Sequence[ChatLine]
    ) -> Detection | None:
        """Count one message; a Detection when it completes a spike."""
        ts = line.ts if line.ts > self._last_ts else self._last_ts
        if ts - self._last_ts > settings.baseline_seconds:
            self._ewma = self._weight = 0.0
            self._sec, self._sec_count = -1, 0
            self._first_ts = ts
        self._last_ts = ts
        sec = int(ts)
        if sec != self._sec:
            self._fold_seconds(sec, settings)
        window = settings.spike_window_seconds
        horizon = ts - window
        counted, per_user = self._counted, self._per_user
        while counted and counted[0][0] < horizon:
            user = counted.popleft()[1]
            left = per_user[user] - 1
            if left:
                per_user[user] = left
            else:
                del per_user[user]
        seconds = self._seconds
        while seconds and seconds[0][0] + 1 <= horizon:
            seconds.popleft()
        user = line.user_id
        mine = per_user.get(user, 0)
        if mine < settings.per_chatter_cap:
            per_user[user] = mine + 1
            counted.append((ts, user))
            self._sec_count += 1
            if seconds and seconds[-1][0] == sec:
                seconds[-1][1] += 1
            else:
                seconds.append([sec, 1, ts])
        bar = self.bar(settings)
        size = len(counted)
        if not self._armed:
            if size < 0.5 * bar:
                self._armed = True
            return None
        if (
            size < bar
            or ts < self._quiet_until
            or len(per_user) < settings.min_distinct_chatters
            or ts - self._first_ts < settings.warmup_seconds
        ):
            return None
        self._armed = False
        self._quiet_until = ts + settings.refractory_seconds
        base = self.baseline_per_second(settings)
        return self._detection(line, ts, size, base, settings, recent)

    def _onset(self, base: float, multiplier: float) -> float:
        """Where the burst began, as the time of its first message: the latest second that
        maximises the summed excess over a reference rate halfway between the baseline and
        the spike bar (a CUSUM change point; at least 1 message a second)."""
        reference = max(1.0, base * (1.0 + multiplier) / 2.0)
        best, best_at, excess = -math.inf, self._counted[0][0], 0.0
        previous = self._sec + 1
        for second, count, first in reversed(self._seconds):
            excess -= reference * (previous - second - 1)
            excess += count - reference
            previous = int(second)
            if excess > best:
                best, best_at = excess, first
        return best_at

    def _detection(
        self,
        line: ChatLine,
        ts: float,
        size: int,
        base: float,
        settings: ChatSettings,
        recent: Sequence[ChatLine],
    ) -> Detection:
        onset = self._onset(base, settings.spike_multiplier)
        intensity = min(1.0, max(0.0, (size / self._bar - 1.0) / 2.0))
        breadth = min(1.0, len(self._per_user) / (2.0 * settings.min_distinct_chatters))
        lines = list(recent)
        in_window = [r for r in lines if r.ts >= ts - settings.spike_window_seconds]
        return Detection(
            source="chat_spike",
            broadcaster_id=line.broadcaster_id,
            moment_ts=onset - settings.reaction_lag_seconds,
            detected_ts=ts,
            score=round(0.4 + 0.4 * intensity + 0.2 * breadth, 3),
            title=spike_title(in_window),
            excerpt=excerpt(in_window),
            window=tuple(lines[-60:]),
        )
