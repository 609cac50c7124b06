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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from shared.domain.chat_tuning import ClipSpan, fit_weights
from shared.domain.clock import utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import NotFound
from shared.domain.language import N_
from shared.domain.twitch_models import Clip, TokenSource
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
