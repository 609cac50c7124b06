"""How a chat window is scored against its channel's own history, and how a channel's weights
and threshold are fitted to the clips its viewers made (pure: no I/O).

The live detector (`chatbot.detectors.moments`) and the after-stream job
(`shared.pipeline.chat_tuning`) share this module, so what is fitted is what runs.

Scoring. Four signals per window, each as a deviation from the channel's usual level:
- `surge`: distinct chatters against their trailing median;
- `reactions`, `repetition`, `clip_calls`: chatters reacting (laughter, hype, emotes), the
  crowd behind the window's most shared token, and chatters asking for a clip, each against
  what the usual share of them predicts for this many chatters (binomial noise). Shares
  rather than counts, so an audience that grows, slowly or in a wave of small talk, moves
  none of them.
The usual level is a median over a long trailing span that leaves out the last minute and a
half, so a ramp into a moment cannot lift its own bar. The spread is the larger of the
history's own MAD, counting noise and a quarter of the level: a quiet channel's three chatters
and a big channel's twenty percent are both ordinary (and for what chat says, a fiftieth of
the room: seven laughs among three hundred chatters are no crowd).

Which streams. The after-stream job tunes each broadcast once it is over: the archives Get
Videos lists (`created_at` and `duration`) say when each ran, and the one that is still live
is left out (`ended_streams`).

Fitting. Given a stream's feature timeline (10 s buckets) and its viewers' clips, choose the
weights and the threshold whose best moments within the budget cover the most clips (weighted
by views); a tie keeps the current weights, so noise does not move them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.twitch_models import Video

SIGNALS: tuple[str, ...] = ("surge", "reactions", "repetition", "clip_calls")
DEFAULT_WEIGHTS: dict[str, float] = {
    "surge": 1.0,
    "reactions": 1.0,
    "repetition": 0.7,
    "clip_calls": 0.7,
}
RELATIVE_SPREAD = 0.25
ROOM_SHARE = 0.02  # a change in what chat says smaller than this share of the room is no crowd
Z_FLOOR, Z_CEILING = 0.0, 30.0  # quieter than usual is no evidence against a moment


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return 0.0
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def level_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """The usual level (median) and a spread that Poisson noise and a quarter of the level bound
    from below."""
    centre = median(values)
    mad = median([abs(v - centre) for v in values]) * 1.4826
    return centre, max(mad, math.sqrt(centre + 1.0), RELATIVE_SPREAD * centre)


@dataclass(frozen=True, slots=True)
class Baseline:
    """A channel's usual window: chatters (level and spread) and the usual share of each
    composition signal, with the spread of its residuals."""

    chatters: float
    chatters_spread: float
    shares: tuple[float, float, float]
    residual_spread: tuple[float, float, float]

    @staticmethod
    def of(samples: Sequence[tuple[float, float, float, float]]) -> Baseline:
        """From trailing windows (chatters, reactions, repetition, clip_calls)."""
        chatters, spread = level_and_spread([s[0] for s in samples])
        total = sum(s[0] for s in samples)
        shares: list[float] = []
        residuals: list[float] = []
        for index in (1, 2, 3):
            share = sum(s[index] for s in samples) / total if total > 0 else 0.0
            rest = [s[index] - share * s[0] for s in samples]
            centre = median(rest)
            shares.append(share)
            residuals.append(median([abs(r - centre) for r in rest]) * 1.4826)
        return Baseline(
            chatters,
            spread,
            (shares[0], shares[1], shares[2]),
            (residuals[0], residuals[1], residuals[2]),
        )

    def deviations(
        self, chatters: float, reactions: float, repetition: float, clip_calls: float
    ) -> tuple[float, float, float, float]:
        """Each signal of one window in spreads above the usual (clamped)."""
        out = [(chatters - self.chatters) / self.chatters_spread]
        for index, value in enumerate((reactions, repetition, clip_calls)):
            share = min(self.shares[index], 1.0)
            expected = share * chatters
            spread = max(
                self.residual_spread[index],
                math.sqrt(expected * (1.0 - share) + 0.5),
                1.0,  # one or two chatters doing something new is no crowd
                RELATIVE_SPREAD * expected,
                ROOM_SHARE * chatters,
            )
            out.append((value - expected) / spread)
        return (
            min(Z_CEILING, max(Z_FLOOR, out[0])),
            min(Z_CEILING, max(Z_FLOOR, out[1])),
            min(Z_CEILING, max(Z_FLOOR, out[2])),
            min(Z_CEILING, max(Z_FLOOR, out[3])),
        )


def weight_vector(weights: Mapping[str, float]) -> tuple[float, float, float, float]:
    return (
        weights.get("surge", 0.0),
        weights.get("reactions", 0.0),
        weights.get("repetition", 0.0),
        weights.get("clip_calls", 0.0),
    )


def combine(z: Sequence[float], weights: Sequence[float]) -> float:
    return z[0] * weights[0] + z[1] * weights[1] + z[2] * weights[2] + z[3] * weights[3]


# ------------------------------------------------------------------------------ fitting


@dataclass(frozen=True, slots=True)
class TimelineBucket:
    """One ~10 s bucket of a stream's feature timeline: its end `ts` (Unix seconds), the most
    distinct chatters of its windows and each signal's highest deviation in it."""

    ts: float
    chatters: float
    z: tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class ViewerMoment:
    """Where viewers' clips say something happened: the span their clips cover, and how much
    it counts (more clips and more views: more)."""

    start: float
    end: float
    weight: float
    clips: int


@dataclass(frozen=True, slots=True)
class ClipSpan:
    start: float
    end: float
    views: int


def viewer_moments(clips: Sequence[ClipSpan], *, merge_gap: float = 10.0) -> list[ViewerMoment]:
    """Viewers' clips of one moment overlap: one moment per cluster, weighted by how many
    clipped it and how often those clips were watched."""
    moments: list[ViewerMoment] = []
    for clip in sorted(clips, key=lambda c: c.start):
        weight = 1.0 + math.log1p(max(0, clip.views)) / 4.0
        if moments and clip.start <= moments[-1].end + merge_gap:
            last = moments[-1]
            moments[-1] = ViewerMoment(
                last.start, max(last.end, clip.end), last.weight + weight / 2.0, last.clips + 1
            )
        else:
            moments.append(ViewerMoment(clip.start, clip.end, weight, 1))
    return moments


@dataclass(frozen=True)
class FitResult:
    """What the fit chose and what it would have caught, before and after."""

    weights: dict[str, float]
    threshold: float
    moments: int
    caught_before: int
    caught_after: int
    picks: int
    changed: bool


def pick_moments(
    buckets: Sequence[TimelineBucket],
    weights: Sequence[float],
    *,
    picks: int,
    refractory: float,
    min_chatters: float,
) -> list[tuple[float, float]]:
    """The `picks` best (ts, score) peaks of the timeline, `refractory` seconds apart: what the
    live detector's budget and adaptive threshold choose over a whole stream."""
    scored = sorted(
        ((combine(b.z, weights), b.ts) for b in buckets if b.chatters >= min_chatters),
        reverse=True,
    )
    chosen: list[tuple[float, float]] = []
    for score, ts in scored:
        if len(chosen) >= picks or score <= 0:
            break
        if all(abs(ts - other) >= refractory for other, _ in chosen):
            chosen.append((ts, score))
    return chosen


def caught_weight(
    chosen: Sequence[tuple[float, float]],
    moments: Sequence[ViewerMoment],
    *,
    late: float = 25.0,
) -> tuple[float, int]:
    """Summed weight and count of viewer moments that a chosen peak falls in (chat reacts
    after the moment, so a peak may come up to `late` seconds after the clip's end)."""
    weight, count = 0.0, 0
    for moment in moments:
        if any(moment.start <= ts <= moment.end + late for ts, _ in chosen):
            weight += moment.weight
            count += 1
    return weight, count


WEIGHT_GRID: tuple[float, ...] = (0.0, 0.35, 0.7, 1.0, 1.5, 2.0)


def fit_weights(
    buckets: Sequence[TimelineBucket],
    clips: Sequence[ClipSpan],
    current: Mapping[str, float],
    *,
    per_hour: float,
    refractory: float,
    min_chatters: float,
    current_threshold: float,
) -> FitResult:
    """The weights and threshold that catch the most of the viewers' moments within the
    budget. The threshold is set just under the weakest pick, so the live detector picks
    about as many on a stream like this one; it never drops below half the current one."""
    moments = viewer_moments(clips)
    ordered = sorted(buckets, key=lambda b: b.ts)
    hours = (ordered[-1].ts - ordered[0].ts) / 3600.0 if len(ordered) > 1 else 0.0
    picks = max(1, round(per_hour * max(hours, 1.0 / 6.0)))
    base: tuple[float, ...] = weight_vector(current)

    def evaluate(vector: Sequence[float]) -> tuple[float, int, list[tuple[float, float]]]:
        chosen = pick_moments(
            ordered, vector, picks=picks, refractory=refractory, min_chatters=min_chatters
        )
        weight, count = caught_weight(chosen, moments)
        return weight, count, chosen

    before_weight, before_count, _ = evaluate(base)
    scale = sum(base) or sum(DEFAULT_WEIGHTS.values())
    best: tuple[float, float, tuple[float, ...]] = (before_weight, 0.0, base)
    for candidate in itertools.product(WEIGHT_GRID, repeat=len(SIGNALS)):
        total = sum(candidate)
        if total <= 0:
            continue
        vector = tuple(w * scale / total for w in candidate)
        weight, _, _ = evaluate(vector)
        distance = -float(sum(abs(a - b) for a, b in zip(vector, base, strict=True)))
        if (weight, distance) > (best[0], best[1]) and weight > before_weight:
            best = (weight, distance, vector)
    vector = best[2]
    changed = vector != base
    _, after_count, chosen = evaluate(vector)
    threshold = current_threshold
    if changed and chosen:
        weakest = min(score for _, score in chosen)
        threshold = round(min(200.0, max(1.0, current_threshold / 2.0, 0.9 * weakest)), 2)
    weights = {name: round(w, 3) for name, w in zip(SIGNALS, vector, strict=True)}
    return FitResult(
        weights=weights,
        threshold=threshold,
        moments=len(moments),
        caught_before=before_count,
        caught_after=after_count,
        picks=picks,
        changed=changed,
    )


# ------------------------------------------------------------------------------ which streams


@dataclass(frozen=True, slots=True)
class EndedStream:
    """A broadcast that is over, as its archive shows it: `stream_id` (the video's id when
    Twitch gave none), and when it started and ended."""

    stream_id: str
    started_at: datetime
    ended_at: datetime


MAX_STREAM_HOURS = 48.0  # what one timeline read covers


def ended_streams(
    videos: Sequence[Video], live_stream_id: str | None, now: datetime, *, lookback: timedelta
) -> list[EndedStream]:
    """The archives of broadcasts that ended within `lookback` before `now`, oldest first.
    Get Videos lists the archive of the broadcast in progress too: it is left out (its
    `stream_id` is the live one), as is an archive still growing to within a minute of now
    (the channel may be between Get Streams and Get Videos) and one without a duration."""
    found: list[EndedStream] = []
    for video in videos:
        seconds = video.duration_seconds
        if video.type != "archive" or seconds is None or seconds <= 0:
            continue
        if live_stream_id is not None and video.stream_id == live_stream_id:
            continue
        ended = video.created_at + timedelta(seconds=seconds)
        if ended > now - timedelta(minutes=1) or ended < now - lookback:
            continue
        if seconds > MAX_STREAM_HOURS * 3600:
            continue
        found.append(EndedStream(video.stream_id or f"v{video.id}", video.created_at, ended))
    return sorted(found, key=lambda s: s.started_at)
