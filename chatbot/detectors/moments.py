"""Moments: every short window of one channel's chat scored against that channel's history,
proposed within an attention budget.

Why not a rate threshold: on real chat a bar built from recent message rates lifts itself
during the ramp into a highlight, counts one spammer or a bot wave as a crowd, and knows
nothing about what chat says. Here, once a second:

- the window (`spike_window_seconds`) is read as four signals (`shared.domain.chat_tuning`):
  distinct chatters, chatters reacting in any language or with emotes, the crowd behind the
  most shared token, chatters asking for a clip; so is the last half minute, because a small
  channel's crowd trickles in over it, and the stronger reading counts;
- each is compared with the channel's usual level, a median over `baseline_seconds` that
  leaves out the last 90 s, so a ramp cannot lift it;
- the weighted sum (`signal_weights`) is the window's score. The bar is the largest of
  `score_threshold`, the channel's own noise (each minute's highest score over the last hours:
  their median plus 3.5 robust spreads; 6 until twenty minutes are known), and the peak that
  `candidates_per_hour` of the remembered hours would reach: a busy, noisy channel gets a
  higher bar than a calm one, a calm one is not held to a big one's;
- a window near the bar is held for a few seconds and judged by its peak: noise barely
  crosses and falls back, a crowd keeps climbing. A peak over the bar proposes a moment,
  unless one was proposed in the last `refractory_seconds` (a window twice as strong as that
  one is a moment of its own) or the rolling hour already holds `candidates_per_hour` of them.

Decoys do not count: a chatter counts `per_chatter_cap` times a window at most (one spammer is
one chatter), a link, or a long text that other chatters just posted word for word (a wave of
fresh bot accounts, a copypasta relay), counts for nothing, and an audience that grows slowly
moves the median with it. Short identical texts do count: that is how a crowd reacts. Chat
talking is no moment either (`reactions.read_message`): bot commands (a giveaway's `!enter`)
and poll answers ("1", "2", "yes") count for nothing, greetings, welcomes and thank-yous only
as chatters; and newcomers arriving in a wave (a raid) whose first line is talk count for
nothing for a while.

`moment_ts` is where the reaction began (a change point of per-second activity against the
usual level) minus `reaction_lag_seconds`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.chat_line import ChatLine
from chatbot.detection import Detection
from chatbot.detectors.reactions import Reading, read_message
from chatbot.titles import excerpt, moment_title
from shared.domain.chat_settings import ChatSettings
from shared.domain.chat_tuning import Baseline, TimelineBucket, combine, median, weight_vector

SAMPLE_SECONDS = 10
RAMP_SECONDS = 90.0  # left out of the baseline: the run-up to a moment is not "usual"
MIN_SAMPLES = 6
COLD_SAMPLES = 3
GAP_RESET_SECONDS = 300.0  # chat silent this long (offline, restart): learn the level afresh
ECHO_SECONDS = 120.0
ECHO_OTHERS = 2  # a long text is an echo once this many other chatters posted it
PEAK_MEMORY_SECONDS = 4 * 3600.0
ONSET_LOOKBACK = 45
HOUR = 3600.0
# A chatter with more than FLOOD_MESSAGES messages in about FLOOD_SECONDS (a decaying count) is
# flooding: still one chatter, but their reactions, clip calls and tokens count for nothing.
# People reacting to a moment post a few messages; a spammer posts every second.
FLOOD_MESSAGES, FLOOD_SECONDS = 6.0, 30.0
# Peaks of the score: a bump starts above this share of `score_threshold` and ends below the
# next (the budget's bar is the peak the budget would reach among them).
BUMP_START, BUMP_END = 0.35, 0.2
# The channel's own noise: each minute's highest score, remembered PEAK_MEMORY_SECONDS. A moment
# must stand NOISE_SPREADS spreads above the typical minute (median and MAD: the few minutes
# that held moments do not move them), the spread being at least NOISE_SHARE of the typical
# minute (a calm hour does not promise a calm next one). Until MIN_MINUTES are known, the bar is
# at least UNKNOWN_BAR: a stream's first minutes are unknown ground.
NOISE_SPREADS = 3.0
NOISE_SHARE = 0.5
MIN_MINUTES = 10
UNKNOWN_BAR = 6.0
# A window that reaches TRIGGER of the bar is held up to HOLD_SECONDS (less if chat falls back
# below RELEASE of its peak), and proposed if its peak clears the bar: noise bumps barely cross
# and fall back, a crowd keeps climbing. Before the channel has MIN_SAMPLES of its own history,
# the bar is COLD_BAR times higher.
TRIGGER, HOLD_SECONDS, RELEASE = 0.7, 6, 0.6
COLD_BAR = 2.0
# A window this many times stronger than the last proposal is a moment of its own even in the
# refractory time: a bump of chat just before must not hide the moment right after it.
STRONGER = 2.0
# A small channel's crowd trickles in over half a minute: each window is also read over
# LONG_SECONDS, against the usual level of windows that long, and the stronger reading counts.
LONG_SECONDS = 30
HEARD_LINES = 300  # counted lines kept for the title and excerpt of a moment
# A wave of first-seen accounts (a raid): chatters never seen before arrive at about the
# channel's usual pace (their count over ARRIVAL_SECONDS, a median like the other levels). A
# newcomer beyond ARRIVAL_FACTOR times that plus ARRIVAL_SLACK whose first line is talk (a raid
# message, a greeting, a command) came with a wave: nothing they say counts for WAVE_SECONDS.
# Lurkers who speak up at a moment react first, and count.
ARRIVAL_SECONDS, ARRIVAL_FACTOR, ARRIVAL_SLACK = 30.0, 2.0, 5.0
WAVE_SECONDS = 300.0
_PRUNE_CHATTERS = 200_000


@dataclass(slots=True)
class _Pending:
    """A window over the trigger: held a few seconds to judge the moment by its peak."""

    since: int
    peak: float
    z: tuple[float, float, float, float]
    onset: float  # found when the window first came near the bar, before the crowd peaks


@dataclass(slots=True)
class _Second:
    sec: int
    chatters: float
    reactions: float
    clips: float
    tokens: list[str]
    first_ts: float


class _Span:
    """The chatters, reactions and `!clip` calls of the seconds within a trailing span: the
    scored window and the longer one are kept the same way."""

    __slots__ = ("seconds", "sums")

    def __init__(self) -> None:
        self.seconds: deque[_Second] = deque()
        self.sums = [0.0, 0.0, 0.0]

    def add(self, now: _Second) -> None:
        if now.chatters or now.reactions or now.clips:
            self.seconds.append(now)
            sums = self.sums
            sums[0] += now.chatters
            sums[1] += now.reactions
            sums[2] += now.clips

    def drop_through(self, horizon: float) -> list[_Second]:
        """Forget the seconds at or before `horizon`; they are returned."""
        seconds, sums = self.seconds, self.sums
        dropped = []
        while seconds and seconds[0].sec <= horizon:
            old = seconds.popleft()
            sums[0] -= old.chatters
            sums[1] -= old.reactions
            sums[2] -= old.clips
            dropped.append(old)
        if not seconds:
            sums[0] = sums[1] = sums[2] = 0.0
        return dropped


class MomentDetector:
    """One channel's moment state; feed every message in time order."""

    def __init__(self) -> None:
        self._chatters: dict[str, list[float]] = {}
        self._known_emotes: set[str] = set()
        self._echo: dict[str, tuple[float, frozenset[str]]] = {}
        self._echo_pruned = 0.0
        self._reset_level(-math.inf)
        self._peaks: deque[tuple[float, float]] = deque()
        self._minutes: deque[tuple[int, float]] = deque()
        self._minute = (-1, 0.0)
        self._weights: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self._emitted: deque[float] = deque()
        self._active_seconds = 0.0
        self._quiet_until = -math.inf
        self._last_peak = math.inf
        self._bar = 0.0
        self._bar_for: tuple[int, int, float, float] = (-1, -1, -1.0, -1.0)
        self.timeline: list[TimelineBucket] = []

    def _reset_level(self, ts: float) -> None:
        """Forget the usual level (first message, or chat back after a long silence)."""
        self._started = ts
        self._last_ts = ts
        self._sec = -1
        self._now = _Second(-1, 0.0, 0.0, 0.0, [], 0.0)
        self._window = _Span()
        self._tokens: dict[str, int] = {}
        self._activity: deque[tuple[int, float, float]] = deque()
        self._samples: deque[tuple[float, float, float, float, float]] = deque()
        self._baseline: Baseline | None = None
        self._long = _Span()
        self._long_samples: deque[tuple[float, float, float, float, float]] = deque()
        self._long_baseline: Baseline | None = None
        self._cold = True
        self._bump_peak = 0.0
        self._armed = True
        self._bucket_z = [-math.inf] * 4
        self._bucket_chatters = 0.0
        self._bucket_open = False
        self._heard: deque[ChatLine] = deque(maxlen=HEARD_LINES)
        self._pending: _Pending | None = None
        self._arrivals: deque[float] = deque()
        self._arrival_samples: deque[tuple[float, int]] = deque()
        self._arrivals_allowed = math.inf

    # ------------------------------------------------------------------ per message

    def observe(
        self,
        line: ChatLine,
        settings: ChatSettings,
        recent: Sequence[ChatLine],
        *,
        emit: bool = True,
    ) -> Detection | None:
        """Count one message; a Detection when the window it closes is a moment. `emit` False
        (pipeline off): keep learning, propose nothing and spend no budget."""
        ts = line.ts if line.ts > self._last_ts else self._last_ts
        if ts - self._last_ts > GAP_RESET_SECONDS:
            self._reset_level(ts)
        self._last_ts = ts
        sec = int(ts)
        found: Detection | None = None
        if sec != self._sec:
            if self._sec >= 0:
                found = self._close_until(sec, line, settings, recent, emit)
            self._sec = sec
            self._now = _Second(sec, 0.0, 0.0, 0.0, [], 0.0)
        if line.fragments:
            for fragment in line.fragments:
                if fragment.kind == "emote" and len(self._known_emotes) < 5000:
                    self._known_emotes.add(fragment.text)
        reading = read_message(
            line.text,
            line.fragments,
            settings.keywords,
            self._known_emotes,
            line.broadcaster_id,
            settings.clip_command,
        )
        self._count(line, ts, reading, settings)
        return found

    def _count(self, line: ChatLine, ts: float, reading: Reading, settings: ChatSettings) -> None:
        user = line.user_id
        entry = self._chatters.get(user)
        if entry is None:
            if len(self._chatters) >= _PRUNE_CHATTERS:
                horizon = ts - HOUR
                self._chatters = {u: e for u, e in self._chatters.items() if e[4] > horizon}
            talk = reading.talk or reading.aside or reading.link
            wave = ts + WAVE_SECONDS if self._arrived(ts, talk) else -math.inf
            entry = self._chatters[user] = [
                -math.inf, -math.inf, -math.inf, -math.inf, ts, 0.0, wave
            ]  # fmt: skip
        else:
            entry[5] *= math.exp((entry[4] - ts) / FLOOD_SECONDS)
            entry[4] = ts
        entry[5] += 1.0
        flooding = entry[5] > FLOOD_MESSAGES
        if reading.echo_key is not None and self._echoed(reading.echo_key, user, ts):
            return
        if reading.link or reading.aside or ts < entry[6]:
            return
        window = settings.spike_window_seconds
        now = self._now
        counted = False
        if ts - entry[0] >= window / settings.per_chatter_cap:
            entry[0] = ts
            now.chatters += 1.0
            counted = True
        # one chatter flooding chat is one chatter, never a crowd's reaction
        if reading.reaction > 0.0 and not flooding and ts - entry[1] >= window:
            entry[1] = ts
            now.reactions += reading.reaction
            counted = True
        if reading.clip_call and not flooding and ts - entry[2] >= window:
            entry[2] = ts
            now.clips += 1.0
        if counted:
            self._heard.append(line)
            if not now.first_ts:
                now.first_ts = ts
            if reading.tokens and not flooding and ts - entry[3] >= window:
                entry[3] = ts
                tokens = self._tokens
                for token in reading.tokens:
                    tokens[token] = tokens.get(token, 0) + 1
                now.tokens.extend(reading.tokens)

    def _arrived(self, ts: float, talk: bool) -> bool:
        """Record a chatter never seen before (whose first line is `talk`); True when they
        came with a wave of newcomers."""
        arrivals = self._arrivals
        arrivals.append(ts)
        while arrivals[0] <= ts - ARRIVAL_SECONDS:
            arrivals.popleft()
        return talk and len(arrivals) > self._arrivals_allowed

    def _sample_arrivals(self, sec: int, settings: ChatSettings) -> None:
        """The usual count of newcomers over ARRIVAL_SECONDS, leaving out the last RAMP_SECONDS
        like the other levels (a wave cannot lift its own allowance)."""
        arrivals = self._arrivals
        while arrivals and arrivals[0] <= sec - ARRIVAL_SECONDS:
            arrivals.popleft()
        samples = self._arrival_samples
        samples.append((float(sec), len(arrivals)))
        keep = sec - settings.baseline_seconds - RAMP_SECONDS
        while samples and samples[0][0] < keep:
            samples.popleft()
        usual = [count for at, count in samples if at <= sec - RAMP_SECONDS]
        allowed = ARRIVAL_FACTOR * median(usual) + ARRIVAL_SLACK
        self._arrivals_allowed = allowed if len(usual) >= MIN_SAMPLES else math.inf

    def _echoed(self, key: str, user: str, ts: float) -> bool:
        """Record `user` posting `key`; True when other chatters posted it just before."""
        if ts - self._echo_pruned > ECHO_SECONDS:
            horizon = ts - ECHO_SECONDS
            self._echo = {k: v for k, v in self._echo.items() if v[0] > horizon}
            self._echo_pruned = ts
        seen = self._echo.get(key)
        if seen is None or ts - seen[0] > ECHO_SECONDS:
            self._echo[key] = (ts, frozenset((user,)))
            return False
        users = seen[1]
        if user not in users and len(users) < 64:
            users = users | {user}
        self._echo[key] = (ts, users)
        return len(users - {user}) >= ECHO_OTHERS

    # ------------------------------------------------------------------ per second

    def _close_until(
        self,
        sec: int,
        line: ChatLine,
        settings: ChatSettings,
        recent: Sequence[ChatLine],
        emit: bool,
    ) -> Detection | None:
        """Close the current second and every silent one up to `sec` (a gap is at most
        GAP_RESET_SECONDS: longer ones start the level afresh)."""
        found = self._close(self._now, line, settings, recent, emit)
        for second in range(self._sec + 1, sec):
            hit = self._close(_Second(second, 0.0, 0.0, 0.0, [], 0.0), line, settings, recent, emit)
            found = found or hit
        return found

    def _close(
        self,
        now: _Second,
        line: ChatLine,
        settings: ChatSettings,
        recent: Sequence[ChatLine],
        emit: bool,
    ) -> Detection | None:
        sec = now.sec
        self._active_seconds += 1.0
        window = self._window
        window.add(now)
        tokens = self._tokens
        for old in window.drop_through(sec - settings.spike_window_seconds):
            for token in old.tokens:
                left = tokens[token] - 1
                if left:
                    tokens[token] = left
                else:
                    del tokens[token]
        activity = self._activity
        activity.append((sec, now.chatters + now.reactions, now.first_ts))
        while activity and activity[0][0] <= sec - ONSET_LOOKBACK:
            activity.popleft()
        chatters, reactions, clips = window.sums
        repetition = float(max(tokens.values())) if tokens else 0.0
        values = (chatters, reactions, repetition, clips)
        self._long.add(now)
        self._long.drop_through(sec - LONG_SECONDS)
        long_sums = self._long.sums
        long_values = (long_sums[0], long_sums[1], repetition, long_sums[2])
        if sec % SAMPLE_SECONDS == 0:
            self._sample(sec, values, settings)
            self._long_baseline = self._sample_long(sec, long_values, settings)
            self._sample_arrivals(sec, settings)
        found = self._score(sec, values, long_values, line, settings, recent, emit)
        if sec % SAMPLE_SECONDS == 0 and self._bucket_open:
            self.timeline.append(
                TimelineBucket(
                    float(sec),
                    self._bucket_chatters,
                    (
                        round(self._bucket_z[0], 2),
                        round(self._bucket_z[1], 2),
                        round(self._bucket_z[2], 2),
                        round(self._bucket_z[3], 2),
                    ),
                )
            )
            if len(self.timeline) > 4000:
                del self.timeline[:1000]
            self._bucket_z = [-math.inf] * 4
            self._bucket_chatters = 0.0
            self._bucket_open = False
        return found

    def _sample(
        self, sec: int, values: tuple[float, float, float, float], settings: ChatSettings
    ) -> None:
        samples = self._samples
        samples.append((float(sec), *values))
        keep = sec - settings.baseline_seconds - RAMP_SECONDS
        while samples and samples[0][0] < keep:
            samples.popleft()
        usual = [s[1:] for s in samples if s[0] <= sec - RAMP_SECONDS]
        self._cold = len(usual) < MIN_SAMPLES
        if self._cold:
            usual = [s[1:] for s in samples if s[0] <= sec - settings.spike_window_seconds]
            if len(usual) < COLD_SAMPLES:
                self._baseline = None
                return
        baseline = Baseline.of(usual)
        if self._cold:
            floor = settings.baseline_floor_per_minute / 60.0 * settings.spike_window_seconds
            if baseline.chatters < floor:
                spread = max(baseline.chatters_spread, (settings.spike_multiplier - 1.0) * floor)
                baseline = Baseline(floor, spread, baseline.shares, baseline.residual_spread)
        self._baseline = baseline

    def _sample_long(
        self, sec: int, values: tuple[float, float, float, float], settings: ChatSettings
    ) -> Baseline | None:
        """The usual level of LONG_SECONDS windows (the same rules as the short ones)."""
        samples = self._long_samples
        samples.append((float(sec), *values))
        keep = sec - settings.baseline_seconds - RAMP_SECONDS
        while samples and samples[0][0] < keep:
            samples.popleft()
        if self._cold:
            return None
        usual = [s[1:] for s in samples if s[0] <= sec - RAMP_SECONDS]
        return Baseline.of(usual) if len(usual) >= MIN_SAMPLES else None

    def bar(self, settings: ChatSettings) -> float:
        """The score a window needs now: `score_threshold`, raised to the peak that the budget
        would reach over the remembered hours of this channel."""
        key = (len(self._peaks), len(self._minutes), settings.score_threshold,
               settings.candidates_per_hour)  # fmt: skip
        if key != self._bar_for:
            self._bar_for = key
            hours = min(self._active_seconds, PEAK_MEMORY_SECONDS) / HOUR
            allowed = int(settings.candidates_per_hour * hours)
            bar = settings.score_threshold
            minutes = [m for _, m in self._minutes]
            if len(minutes) >= MIN_MINUTES:
                centre = median(minutes)
                spread = max(
                    median([abs(m - centre) for m in minutes]) * 1.4826, NOISE_SHARE * centre
                )
                bar = max(bar, centre + NOISE_SPREADS * spread)
            else:
                bar = max(bar, UNKNOWN_BAR)
            peaks = [p for _, p in self._peaks]
            if allowed >= 2 and len(peaks) > allowed:
                bar = max(bar, sorted(peaks, reverse=True)[allowed])
            self._bar = bar
        return self._bar

    def _score(
        self,
        sec: int,
        values: tuple[float, float, float, float],
        long_values: tuple[float, float, float, float],
        line: ChatLine,
        settings: ChatSettings,
        recent: Sequence[ChatLine],
        emit: bool,
    ) -> Detection | None:
        baseline = self._baseline
        if baseline is None or sec - self._started < settings.warmup_seconds:
            return None
        z = baseline.deviations(*values)
        weights = weight_vector(settings.signal_weights)
        if weights != self._weights:  # scores under other weights say nothing of these
            self._weights = weights
            self._minutes.clear()
            self._peaks.clear()
        score = combine(z, weights)
        if self._long_baseline is not None:
            long_z = self._long_baseline.deviations(*long_values)
            long_score = combine(long_z, weights)
            if long_score > score:
                z, score = long_z, long_score
        self._bucket_open = True
        bucket_z = self._bucket_z
        for index in range(4):
            if z[index] > bucket_z[index]:
                bucket_z[index] = z[index]
        if values[0] > self._bucket_chatters:
            self._bucket_chatters = values[0]
        floor = settings.score_threshold
        if score >= BUMP_START * floor:
            self._bump_peak = max(self._bump_peak, score)
        elif self._bump_peak and score < BUMP_END * floor:
            self._remember_peak(float(sec), self._bump_peak)
            self._bump_peak = 0.0
            self._armed = True
        minute = sec // 60
        if minute != self._minute[0]:
            if self._minute[0] >= 0:
                self._remember_minute(*self._minute)
            self._minute = (minute, score)
        elif score > self._minute[1]:
            self._minute = (minute, score)
        bar = self.bar(settings) * (COLD_BAR if self._cold else 1.0)
        pending = self._pending
        if pending is not None:
            if score > pending.peak:
                pending.peak, pending.z = score, z
            if sec - pending.since < HOLD_SECONDS and score >= RELEASE * pending.peak:
                return None
            self._pending = None
            if pending.peak < bar:  # a bump of chat, not a moment: look again next time
                self._armed = True
                return None
            self._quiet_until = sec + settings.refractory_seconds
            self._last_peak = pending.peak
            if not emit or not self._within_budget(line.ts, settings):
                return None
            return self._detection(pending, weights, line, settings, recent)
        stronger = score >= STRONGER * self._last_peak and score >= bar
        if (
            ((not self._armed or sec < self._quiet_until) and not stronger)
            or score < TRIGGER * bar
            or values[0] < settings.min_distinct_chatters
        ):
            return None
        self._armed = False
        usual = baseline.chatters * (1.0 + baseline.shares[0]) / settings.spike_window_seconds
        self._pending = _Pending(sec, score, z, self._onset(usual))
        return None

    def _remember_peak(self, ts: float, peak: float) -> None:
        peaks = self._peaks
        peaks.append((ts, peak))
        while peaks and (peaks[0][0] < ts - PEAK_MEMORY_SECONDS or len(peaks) > 5000):
            peaks.popleft()

    def _remember_minute(self, minute: int, highest: float) -> None:
        minutes = self._minutes
        minutes.append((minute, highest))
        while minutes and minutes[0][0] < minute - PEAK_MEMORY_SECONDS // 60:
            minutes.popleft()

    def _within_budget(self, ts: float, settings: ChatSettings) -> bool:
        emitted = self._emitted
        while emitted and emitted[0] <= ts - HOUR:
            emitted.popleft()
        if len(emitted) + 1 > settings.candidates_per_hour:
            return False
        emitted.append(ts)
        return True

    def refund(self, detected_ts: float) -> None:
        """A proposal the brain dropped (its moment was already a candidate) costs nothing."""
        if detected_ts in self._emitted:
            self._emitted.remove(detected_ts)

    def budget_left(self, ts: float, settings: ChatSettings) -> int:
        """Moments that may still be proposed in the hour ending at `ts`."""
        recent = sum(1 for at in self._emitted if at > ts - HOUR)
        return max(0, int(settings.candidates_per_hour) - recent)

    # ------------------------------------------------------------------ the moment

    def _onset(self, usual: float) -> float:
        """The first message of the reaction. Per-second activity (chatters and reactions),
        smoothed over 3 s, is elevated when it is a third of the way from the local level (the
        usual level per second, or a low quantile of the last 45 s if higher, so a busy stretch
        well before does not count) to the peak, and clear of counting noise. The onset is the
        start of the elevated run that reaches the present (gaps of up to 2 s bridged): its
        first second that is elevated by itself."""
        seconds = list(self._activity)
        if not seconds:
            return self._last_ts
        amounts = [a for _, a, _ in seconds]
        local = max(sorted(amounts)[int(len(amounts) * 0.3)], usual)
        last = len(amounts) - 1
        smooth = [
            sum(amounts[max(0, i - 1) : i + 2]) / len(amounts[max(0, i - 1) : i + 2])
            for i in range(len(amounts))
        ]
        peak = max(smooth)
        high = local + max(0.33 * (peak - local), math.sqrt(local + 1.0) + 0.5)
        start, gap, index = last, 0, last
        while index >= 0:
            if smooth[index] >= high:
                start, gap = index, 0
            else:
                gap += 1
                if gap > 2:
                    break
            index -= 1
        for index in range(start, min(start + 3, last + 1)):
            if amounts[index] >= high and seconds[index][2]:
                return seconds[index][2]
        for _, amount, first in seconds[start:]:
            if amount > 0 and first:
                return first
        return float(seconds[start][0])

    def _detection(
        self,
        pending: _Pending,
        weights: tuple[float, float, float, float],
        line: ChatLine,
        settings: ChatSettings,
        recent: Sequence[ChatLine],
    ) -> Detection:
        z, score, onset = pending.z, pending.peak, pending.onset
        lines = [r for r in self._heard if r.ts >= onset - 1.0] or list(self._heard)[-30:]
        reacting = z[1] * weights[1]
        keyword = (
            reacting >= z[0] * weights[0] and self._window.sums[1] >= settings.keyword_min_chatters
        )
        source = "keyword" if keyword else "chat_spike"
        confidence = 0.5 + 0.25 * math.log2(max(1.0, score / max(self.bar(settings), 1e-9)))
        return Detection(
            source=source,
            broadcaster_id=line.broadcaster_id,
            moment_ts=onset - settings.reaction_lag_seconds,
            detected_ts=line.ts,
            score=round(min(1.0, confidence), 3),
            title=moment_title(lines, settings.keywords),
            excerpt=excerpt(lines),
            window=tuple(list(recent)[-60:]),
        )

    def take_timeline(self) -> list[TimelineBucket]:
        """The finished 10 s buckets since the last call (for the Firestore timeline)."""
        taken, self.timeline = self.timeline, []
        return taken
