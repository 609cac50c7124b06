"""After a stream: tune the chat detector to the moments the channel's viewers clipped.

During the stream the chat bot writes a compact feature timeline (`ChatTimelineStore`). Once
the stream is offline (or daily), `ChatTuner.tune` fetches the clips viewers made during it
(Get Clips by broadcaster with `started_at`/`ended_at`), places each on the stream's clock
(`vod_offset` from the stream's start when Twitch gives it, else `created_at` minus
`duration`), fits that channel's signal weights and score threshold to catch those moments
within the attention budget (`shared.domain.chat_tuning.fit_weights`), and saves them through
`ControlPlaneStore.write`, so the change is audited like any operator's (who, when, before).
Every run is kept in `ChatTuningLog` with how many clips it used and what was there before;
`revert` puts those values back in one call.

Too few clips, or no better fit than the values in force, changes nothing (and says so in
the record): the fit must earn its change.

`EndedStreamTuning.run` is what triggers it (`tune_chat_detection`, daily on Cloud Scheduler):
for each channel it lists the archives (Get Videos, type archive) and the live broadcast (Get
Streams), and tunes every broadcast that ended in the last days and was not tuned yet. A
marker per stream, created exclusively before the fit, makes a second run (or a racing one)
skip it. A failure a retry cannot fix is recorded on the marker and reported once; any other
failure gives the stream back, and the run answers 500 so the scheduler tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.domain.chat_tuning import ClipSpan, EndedStream, ended_streams, fit_weights
from shared.domain.clock import utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import ClipError, ErrorCode, NotFound
from shared.domain.language import N_
from shared.domain.twitch_models import Clip, TokenSource
from shared.pipeline.unprocessable import retry_cannot_fix
from shared.store.chat_timeline import ChatTimelineStore, ChatTuningLog, TuningRecord
from shared.store.control_plane import ControlPlaneStore
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

TUNER = "chat tuning"
MIN_MOMENTS = 3
MAX_PAGES = 20
TUNED_SETTINGS = ("chat.signal_weights", "chat.score_threshold")
# Why a run changed nothing: catalog messages, filled in with the record's fields where shown.
NO_TIMELINE = N_("No chat timeline was recorded for this stream.")
TOO_FEW = N_("Only {moments} clipped moments: {needed} are needed to tune.")
NO_BETTER = N_("The values in force already catch the most clipped moments.")


def clip_span(clip: Clip, stream_started_at: datetime | None) -> ClipSpan | None:
    """Where a viewer's clip sits on the stream's clock, or None when Twitch gave no time."""
    duration = clip.duration or 30.0
    if clip.vod_offset is not None and stream_started_at is not None:
        start = stream_started_at.timestamp() + clip.vod_offset
    elif clip.created_at is not None:
        start = clip.created_at.timestamp() - duration
    else:
        return None
    return ClipSpan(start, start + duration, clip.view_count)


class ChatTuner:
    def __init__(
        self,
        timeline: ChatTimelineStore,
        log: ChatTuningLog,
        control: ControlPlaneStore,
        twitch: HelixClips,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._timeline = timeline
        self._log = log
        self._control = control
        self._twitch = twitch
        self._clock = clock

    def viewer_clips(
        self, tokens: TokenSource, broadcaster_id: str, started_at: datetime, ended_at: datetime
    ) -> list[Clip]:
        return self._twitch.clips_in_window(
            tokens, broadcaster_id, started_at, ended_at, max_pages=MAX_PAGES
        )

    def tune(
        self,
        tokens: TokenSource,
        broadcaster_id: str,
        started_at: datetime,
        ended_at: datetime,
        *,
        by: str = TUNER,
        stream_id: str = "",
    ) -> TuningRecord:
        """Fit the stream [started_at, ended_at] (`started_at`: the stream's own start, which
        `vod_offset` counts from) and save the result if it is better."""
        now = self._clock()
        buckets = self._timeline.read(broadcaster_id, started_at, ended_at)
        clips = self.viewer_clips(tokens, broadcaster_id, started_at, ended_at)
        spans = [span for clip in clips if (span := clip_span(clip, started_at)) is not None]
        config = self._control.read(fresh=True)
        chat = config.chat
        before = {
            "chat.signal_weights": dict(chat.signal_weights),
            "chat.score_threshold": chat.score_threshold,
        }
        fit = fit_weights(
            buckets,
            spans,
            chat.signal_weights,
            per_hour=chat.candidates_per_hour,
            refractory=chat.refractory_seconds,
            min_chatters=chat.min_distinct_chatters,
            current_threshold=chat.score_threshold,
        )
        note = ""
        changed = fit.changed and fit.moments >= MIN_MOMENTS and bool(buckets)
        if not buckets:
            note = NO_TIMELINE
        elif fit.moments < MIN_MOMENTS:
            note = TOO_FEW
        elif not fit.changed:
            note = NO_BETTER
        values = {
            "chat.signal_weights": fit.weights,
            "chat.score_threshold": fit.threshold,
        }
        if changed:
            self._control.write(values, by=f"{by} ({len(spans)} viewers' clips)", now=now)
        record = TuningRecord(
            broadcaster_id=broadcaster_id,
            at=now,
            by=by,
            stream_started_at=started_at,
            stream_ended_at=ended_at,
            clips=len(spans),
            moments=fit.moments,
            caught_before=fit.caught_before,
            caught_after=fit.caught_after if changed else fit.caught_before,
            changed=changed,
            values=values if changed else {},
            before=before,
            note=note,
            stream_id=stream_id,
        )
        self._log.save(record)
        logger.info(
            "chat tuning ran",
            extra={
                "broadcaster_id": broadcaster_id,
                "clips": len(spans),
                "moments": fit.moments,
                "caught_before": fit.caught_before,
                "caught_after": record.caught_after,
                "changed": changed,
            },
        )
        return record

    def revert(self, broadcaster_id: str, *, by: str) -> ControlPlaneConfig:
        return revert_tuning(self._log, self._control, broadcaster_id, by=by, now=self._clock())


def revert_tuning(
    log: ChatTuningLog,
    control: ControlPlaneStore,
    broadcaster_id: str,
    *,
    by: str,
    now: datetime | None = None,
) -> ControlPlaneConfig:
    """Put back the values the channel's last tuning replaced: one audited write (the Control
    plane page's revert button). NotFound when there is no tuning in force to revert."""
    record = log.latest(broadcaster_id)
    if record is None or not record.changed or record.reverted_at is not None:
        raise NotFound("chat tuning to revert", broadcaster_id)
    now = now or utc_now()
    restored = {name: record.before[name] for name in TUNED_SETTINGS if name in record.before}
    config = control.write(restored, by=by, now=now)
    log.mark_reverted(broadcaster_id, by=by, at=now)
    return config


LOOKBACK = timedelta(days=3)  # a daily run that missed a day or two still finds the stream


@dataclass
class TuningReport:
    """One run of the after-stream job: streams tuned (changed or not), already tuned before,
    given up (unfixable, with the reason) and failed (to be retried)."""

    tuned: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    given_up: dict[str, str] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


FINAL_TWITCH_ERRORS = frozenset(
    {ErrorCode.BAD_REQUEST, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND}
)


def tuning_cannot_fix(error: BaseException) -> bool:
    """What the chat tuning meets again on a retry, so it is given up: an unfixable condition
    (`retry_cannot_fix`) or a final Twitch refusal (no usable token, 400, 403, 404)."""
    if retry_cannot_fix(error):
        return True
    return isinstance(error, ClipError) and error.error_code in FINAL_TWITCH_ERRORS


class EndedStreamTuning:
    """Tune every channel's streams that ended since the last run, each once."""

    def __init__(
        self,
        tuner: ChatTuner,
        log: ChatTuningLog,
        control: ControlPlaneStore,
        twitch: HelixClips,
        tokens_for: Callable[[str], TokenSource],
        broadcaster_ids: Sequence[str],
        *,
        runner: str = TUNER,
        lookback: timedelta = LOOKBACK,
        clock: Callable[[], datetime] = utc_now,
        cannot_fix: Callable[[BaseException], bool] = tuning_cannot_fix,
    ) -> None:
        """`cannot_fix`: which errors a retry would meet again, so the stream is given up
        rather than given back."""
        self._tuner = tuner
        self._log = log
        self._control = control
        self._twitch = twitch
        self._tokens_for = tokens_for
        self._broadcaster_ids = list(broadcaster_ids)
        self._runner = runner
        self._lookback = lookback
        self._clock = clock
        self._cannot_fix = cannot_fix

    def ended(self, tokens: TokenSource, broadcaster_id: str) -> list[EndedStream]:
        """The channel's broadcasts that ended within the lookback, oldest first."""
        live = self._twitch.get_streams(tokens, broadcaster_id)
        videos = self._twitch.get_archive_videos(tokens, broadcaster_id, first=20)
        return ended_streams(
            videos, live.id if live else None, self._clock(), lookback=self._lookback
        )

    def run(self) -> TuningReport:
        report = TuningReport()
        config = self._control.read(fresh=True)
        for broadcaster_id in self._broadcaster_ids:
            tokens = self._tokens_for(config.clip_editor_user_id or broadcaster_id)
            for stream in self.ended(tokens, broadcaster_id):
                self._one(tokens, broadcaster_id, stream, report)
        return report

    def _one(
        self, tokens: TokenSource, broadcaster_id: str, stream: EndedStream, report: TuningReport
    ) -> None:
        key = stream.stream_id
        if not self._log.claim_stream(broadcaster_id, key, by=self._runner, at=self._clock()):
            report.skipped.append(key)
            return
        try:
            record = self._tuner.tune(
                tokens, broadcaster_id, stream.started_at, stream.ended_at, stream_id=key
            )
        except Exception as error:
            if not self._cannot_fix(error):
                self._log.release_stream(broadcaster_id, key)
                logger.exception(
                    "chat tuning failed; the stream is tried again on the next run",
                    extra={"broadcaster_id": broadcaster_id, "stream_id": key},
                )
                report.failed.append(key)
                return
            why = f"{type(error).__name__}: {error}"[:300]
            self._log.finish_stream(broadcaster_id, key, outcome=why)
            logger.error(
                "chat tuning gave up on a stream",
                extra={"broadcaster_id": broadcaster_id, "stream_id": key,
                       "error_type": type(error).__name__},
            )  # fmt: skip
            report.given_up[key] = type(error).__name__
            return
        self._log.finish_stream(
            broadcaster_id, key, outcome="tuned" if record.changed else "unchanged"
        )
        report.tuned.append(key)
        if record.changed:
            report.changed.append(key)
