"""Which clip holds a moment: live as asked, live reaching further back, the VOD, or none.

Twitch's geometry (docs/architecture.md §6.1): a live Create Clip that reaches Twitch at T with
duration d publishes about [T - d, T] (it also captures ~5 s after the call, but does not publish
them unless someone edits the clip), and d is at most 60 s. A VOD clip ends `vod_offset` seconds
into the archive and starts `duration` seconds before that. A clip holds its moment when it
publishes [moment - pre_roll, moment + post_roll].

The moment is `source_ts`, which the detectors already moved back by chat's reaction lag, so
it is used as it is. Pure: the caller (worker, app, benchmark) brings the clock and the
stream's state from Get Streams and Get Videos. What the plan says is `Phrase`s, said by each
edge in the channel's language (shared.domain.language); `label` and `reason` are the English.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.domain.language import ENGLISH, N_, Phrase, Translate, say_all
from shared.domain.twitch_models import Stream, Video

LIVE_MAX_DURATION = 60.0
MIN_DURATION = 5.0
DEFAULT_PRE_ROLL = 10.0
DEFAULT_POST_ROLL = 5.0
# Between planning and Twitch receiving the create call (a Firestore write, one HTTP call):
# a live clip reaches this much further back so that delay cannot push the moment out.
CREATE_MARGIN = 2.0
# A moment slightly ahead of our clock is clock skew between machines; more is a wrong time.
FUTURE_TOLERANCE = 5.0
# Twitch lists a broadcast's archive a little after the stream starts. Until then a moment too
# old for a live clip waits; after this long without one, archives are taken to be off.
ARCHIVE_GRACE = timedelta(minutes=5)
ARCHIVE_RECHECK = timedelta(seconds=30)


class PlanMode(StrEnum):
    LIVE = "live"
    VOD = "vod"
    WAIT = "wait"
    IMPOSSIBLE = "impossible"


@dataclass(frozen=True)
class Archive:
    """An archive as Get Videos (type=archive) lists it; it starts at `created_at`.

    `duration_seconds` is None when unknown; an archive still being recorded keeps growing.
    """

    vod_id: str
    created_at: datetime
    stream_id: str | None = None
    duration_seconds: float | None = None


@dataclass(frozen=True)
class StreamState:
    """What Get Streams and Get Videos said about the channel, newest archive first."""

    live: bool
    stream_id: str | None = None
    started_at: datetime | None = None
    archives: tuple[Archive, ...] = ()

    @classmethod
    def from_helix(cls, stream: Stream | None, videos: Iterable[Video] = ()) -> StreamState:
        """Get Streams' answer (None: offline) and Get Videos' archives, newest first."""
        archives = tuple(
            Archive(v.id, v.created_at, v.stream_id or None, v.duration_seconds)
            for v in sorted(videos, key=lambda v: v.created_at, reverse=True)
            if v.type == "archive"
        )
        if stream is None:
            return cls(False, archives=archives)
        return cls(True, stream.id, stream.started_at, archives)

    def archive_in_progress(self) -> Archive | None:
        """The archive of the live broadcast: the one carrying its stream id
        (docs/architecture.md §6.1)."""
        if not self.live or not self.stream_id:
            return None
        return next((a for a in self.archives if a.stream_id == self.stream_id), None)


@dataclass(frozen=True)
class MomentPlan:
    """The clip to create, or why none: `label_phrase` is short ("live 30 s"),
    `reason_phrases` are the sentences that say it to an operator.

    `not_before`: for a live clip, do not create before then (the post-roll has not aired
    yet); for WAIT, when to look again. `vod_offset` is where a VOD clip ends (whole seconds),
    `moment_offset` where its moment is.
    """

    mode: PlanMode
    label_phrase: Phrase
    reason_phrases: tuple[Phrase, ...]
    age_seconds: float
    duration: float | None = None
    vod_id: str | None = None
    vod_offset: float | None = None
    not_before: datetime | None = None
    moment_offset: float | None = None

    @property
    def creates(self) -> bool:
        return self.mode in (PlanMode.LIVE, PlanMode.VOD)

    @property
    def label(self) -> str:
        """The label in English (logs, and the job's `plan_label` kept for older readers)."""
        return self.label_in(ENGLISH)

    @property
    def reason(self) -> str:
        return self.reason_in(ENGLISH)

    @property
    def vod_position(self) -> str:
        """Where the moment is in the VOD (`1:23:45`); empty for a plan that is no VOD clip."""
        return "" if self.moment_offset is None else vod_clock(self.moment_offset)

    def label_in(self, t: Translate) -> str:
        return self.label_phrase.say(t)

    def reason_in(self, t: Translate) -> str:
        return say_all(self.reason_phrases, t)

    def words_document(self) -> dict[str, Any]:
        """The label and the reason as a job stores them (`plan_words`), so a page says them
        in the language in force; `words_from_document` reads them back."""
        return {
            "label": self.label_phrase.to_document(),
            "reason": [phrase.to_document() for phrase in self.reason_phrases],
        }


def words_from_document(data: object) -> tuple[Phrase, tuple[Phrase, ...]] | None:
    """A job's `plan_words`: its label and reason phrases, or None when absent or not ours
    (the caller falls back to the stored English `plan_label` / `plan_reason`)."""
    if not isinstance(data, dict) or not isinstance(data.get("reason"), list):
        return None
    label = Phrase.from_document(data.get("label"))
    reason = [Phrase.from_document(item) for item in data["reason"]]
    if label is None or None in reason:
        return None
    return label, tuple(phrase for phrase in reason if phrase is not None)


def plan_moment(
    moment: datetime,
    *,
    now: datetime,
    requested_duration: float,
    stream: StreamState,
    pre_roll: float = DEFAULT_PRE_ROLL,
    post_roll: float = DEFAULT_POST_ROLL,
    margin: float = CREATE_MARGIN,
) -> MomentPlan:
    """Decide the clip for `moment` as of `now`: the first of live, longer live, VOD."""
    age = (now - moment).total_seconds()
    if age < -FUTURE_TOLERANCE:
        return _impossible(
            age,
            Phrase(
                N_(
                    "its time is {ahead} ahead of this clock; check the clock of the machine "
                    "that detected it"
                ),
                ahead=age_text(-age),
            ),
        )
    rolls = _Rolls(pre_roll, post_roll)
    if not stream.live:
        return _offline(moment, age, requested_duration, stream, rolls)
    if stream.started_at is not None and moment < stream.started_at:
        earlier = _archive_holding(moment, stream.archives, skip_stream=stream.stream_id)
        if earlier is not None:
            whose = Phrase(N_("an earlier broadcast"))
            return _vod(moment, age, requested_duration, earlier, rolls, whose)
        return _impossible(
            age,
            Phrase(
                N_(
                    "it ({moment} UTC) is before this broadcast started ({started} UTC) and no "
                    "earlier archive holds it"
                ),
                moment=moment,
                started=stream.started_at,
            ),
        )
    live = _live(moment, age, now, requested_duration, stream.started_at, rolls, margin)
    if live is not None:
        return live
    too_old = Phrase(
        N_("it is {age} old, more than a {limit} s live clip reaches"),
        age=age_text(age),
        limit=LIVE_MAX_DURATION,
    )
    archive = stream.archive_in_progress()
    if archive is None:
        return _no_archive_yet(age, now, stream, too_old)
    if moment < archive.created_at:
        return _impossible(
            age,
            Phrase(
                N_("{too_old}, and it is before this broadcast's archive begins ({begins} UTC)"),
                too_old=too_old,
                begins=archive.created_at,
            ),
        )
    whose = Phrase(N_("this broadcast"))
    return _vod(moment, age, requested_duration, archive, rolls, whose, growing=True)


def live_reach(pre_roll: float = DEFAULT_PRE_ROLL, margin: float = CREATE_MARGIN) -> float:
    """How old a moment may be for a live clip (at most 60 s) to still hold its pre-roll;
    older moments are clipped from the VOD."""
    return LIVE_MAX_DURATION - pre_roll - margin


def live_published(created_at: datetime, duration: float) -> tuple[datetime, datetime]:
    """What a live clip whose create reached Twitch at `created_at` publishes by default."""
    return created_at - timedelta(seconds=duration), created_at


def vod_published(
    archive_start: datetime, vod_offset: float, duration: float
) -> tuple[datetime, datetime]:
    """What a VOD clip publishes, in wall-clock time: it ends `vod_offset` into the archive."""
    end = archive_start + timedelta(seconds=vod_offset)
    return end - timedelta(seconds=duration), end


def age_text(seconds: float) -> str:
    """'45 s', '2 min 30 s', '1 h 5 min'."""
    total = max(round(seconds), 0)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def vod_clock(seconds: float) -> str:
    """A position in a VOD: 5025 -> '1:23:45'."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class _Rolls:
    pre: float
    post: float


def _ceil_tenth(value: float) -> float:
    """Round up to Twitch's 0.1 s duration precision (tiny float noise first removed)."""
    return math.ceil(round(value * 10, 6)) / 10


def _live(
    moment: datetime,
    age: float,
    now: datetime,
    requested: float,
    started_at: datetime | None,
    rolls: _Rolls,
    margin: float,
) -> MomentPlan | None:
    """A live clip holding the moment, or None when even 60 s cannot reach back to it."""
    create_at = max(now, moment + timedelta(seconds=rolls.post))
    start = moment - timedelta(seconds=rolls.pre)
    cut = started_at is not None and start < started_at
    start = max(start, started_at) if started_at is not None else start
    needed = max((create_at - start).total_seconds() + margin, MIN_DURATION)
    if needed > LIVE_MAX_DURATION:
        return None
    not_before = create_at if create_at > now else None
    notes: list[Phrase] = []
    if cut:
        notes.append(Phrase(N_("The stream had just started, so the clip begins with it.")))
    if not_before is not None:
        notes.append(
            Phrase(
                N_("It is created at {time} UTC, once the {post} s after the moment have aired."),
                time=not_before,
                post=rolls.post,
            )
        )
    if requested >= needed:
        duration = requested
        label = Phrase(N_("live {duration} s"), duration=duration)
        why = Phrase(
            N_(
                "The moment is {age} old: a {duration} s live clip holds it with {pre} s before "
                "and {post} s after."
            ),
            age=age_text(age),
            duration=duration,
            pre=rolls.pre,
            post=rolls.post,
        )
    else:
        duration = min(float(math.ceil(needed)), LIVE_MAX_DURATION)
        label = Phrase(N_("live extended to {duration} s"), duration=duration)
        why = Phrase(
            N_(
                "The moment is {age} old: a {requested} s live clip would begin after it, so "
                "the clip is extended to {duration} s to reach {pre} s before it."
            ),
            age=age_text(age),
            requested=requested,
            duration=duration,
            pre=rolls.pre,
        )
    return MomentPlan(
        PlanMode.LIVE, label, (why, *notes), age, duration=duration, not_before=not_before
    )


def _vod(
    moment: datetime,
    age: float,
    requested: float,
    archive: Archive,
    rolls: _Rolls,
    whose: Phrase,
    *,
    growing: bool = False,
) -> MomentPlan:
    """Clip the archive: end at the moment plus post-roll, long enough to hold the pre-roll.

    A finished archive ends where its duration says, so the post-roll stops there; a growing
    one's listed duration lags behind the broadcast and is not a limit.
    """
    position = (moment - archive.created_at).total_seconds()
    start = max(position - rolls.pre, 0.0)
    end = position + rolls.post
    if not growing and archive.duration_seconds is not None:
        end = max(min(end, archive.duration_seconds), position)
    vod_offset = float(math.ceil(end))
    duration = min(max(requested, _ceil_tenth(vod_offset - start), MIN_DURATION), 60.0)
    vod_offset = max(vod_offset, float(math.ceil(duration)))
    clipped = Phrase(
        N_(
            "The moment is {age} old, more than a {limit} s live clip reaches, so it is clipped "
            "from the archive of {whose} (VOD {vod}): {duration} s ending at {end}, the moment "
            "at {position}."
        ),
        age=age_text(age),
        limit=LIVE_MAX_DURATION,
        whose=whose,
        vod=archive.vod_id,
        duration=duration,
        end=vod_clock(vod_offset),
        position=vod_clock(position),
    )
    return MomentPlan(
        PlanMode.VOD,
        Phrase(N_("VOD at {position}"), position=vod_clock(position)),
        (clipped,),
        age,
        duration=duration,
        vod_id=archive.vod_id,
        vod_offset=vod_offset,
        moment_offset=position,
    )


def _offline(
    moment: datetime, age: float, requested: float, stream: StreamState, rolls: _Rolls
) -> MomentPlan:
    archive = _archive_holding(moment, stream.archives)
    if archive is not None:
        return _vod(moment, age, requested, archive, rolls, Phrase(N_("its broadcast")))
    if not stream.archives:
        return _impossible(
            age,
            Phrase(
                N_(
                    "the channel is not live and has no archive (past broadcast) to clip from; "
                    "turn on Store past broadcasts in the channel's settings for future moments"
                )
            ),
        )
    return _impossible(
        age, Phrase(N_("the channel is not live and none of its archives holds the moment"))
    )


def _no_archive_yet(age: float, now: datetime, stream: StreamState, too_old: Phrase) -> MomentPlan:
    live_for = None if stream.started_at is None else now - stream.started_at
    if live_for is not None and live_for < ARCHIVE_GRACE:
        again = now + ARCHIVE_RECHECK
        waiting = Phrase(
            N_(
                "The moment is {age} old, more than a {limit} s live clip reaches, and Twitch "
                "has not listed this broadcast's archive yet (the stream started {live_for} "
                "ago). Looking again at {time} UTC."
            ),
            age=age_text(age),
            limit=LIVE_MAX_DURATION,
            live_for=age_text(live_for.total_seconds()),
            time=again,
        )
        return MomentPlan(
            PlanMode.WAIT,
            Phrase(N_("waiting for the archive")),
            (waiting,),
            age,
            not_before=again,
        )
    return _impossible(
        age,
        Phrase(
            N_(
                "{too_old}, and this broadcast has no archive: past broadcasts look switched "
                "off for the channel (Store past broadcasts in its settings)"
            ),
            too_old=too_old,
        ),
    )


def _archive_holding(
    moment: datetime, archives: tuple[Archive, ...], skip_stream: str | None = None
) -> Archive | None:
    """The newest finished or growing archive whose span includes the moment."""
    holding = []
    for archive in archives:
        if skip_stream and archive.stream_id == skip_stream:
            continue
        if moment < archive.created_at:
            continue
        if archive.duration_seconds is not None:
            ends = archive.created_at + timedelta(seconds=archive.duration_seconds)
            if moment > ends:
                continue
        holding.append(archive)
    return max(holding, key=lambda a: a.created_at, default=None)


def _impossible(age: float, why: Phrase) -> MomentPlan:
    return MomentPlan(
        PlanMode.IMPOSSIBLE,
        Phrase(N_("cannot contain the moment: {why}"), why=why),
        (Phrase(N_("No clip can contain this moment: {why}."), why=why),),
        age,
    )
