"""Lost-clip recovery: find on Twitch the clip of a create whose answer never reached the job.

A worker that died between sending Create Clip and saving the 202, or whose call timed out, leaves a
`creating` job without a clip id but with the time the call went out (`creates/{N}`, then
`create_sent_at`). Twitch may have made that clip, so it is never created again
(docs/architecture.md §6.4). Instead Get Clips by `broadcaster_id` over a short `started_at`/
`ended_at` window around the call is matched on `creator_id` (the token's user: the one who clipped)
and on the title. One windowed search serves every lost job of a channel.

A clip only shows in Get Clips once visible, so a search that finds nothing is repeated by
each sweep until the late-confirmation period after the call has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.clip_job import LATE_CHECK, ClipJob
from shared.domain.text import clean_title
from shared.domain.twitch_models import Clip, TokenSource
from shared.pipeline.confirm import CONFIRM_DEADLINE_SECONDS
from shared.pipeline.create import vod_title
from shared.twitch.helix_clips import HelixClips

# Twitch's `created_at` has whole seconds and clocks differ a little: the window opens early.
BEFORE_SEND = timedelta(seconds=10)
# A create Twitch received late (a slow network, a call that timed out on our side) is made
# within this after it was sent; a title match limits what a wide window could catch.
AFTER_SEND = timedelta(minutes=2)
# An untitled live clip gets the stream's title, so only the time can single it out.
UNTITLED_AFTER_SEND = timedelta(seconds=70)
MAX_PAGES = 10


@dataclass(frozen=True)
class LostCreate:
    """A job whose create went out at `sent_at` and whose clip id was never saved."""

    job: ClipJob
    sent_at: datetime

    @property
    def give_up_at(self) -> datetime:
        """No match by then: the clip was not made (docs/architecture.md §6.4's late-confirmation
        period)."""
        return self.sent_at + timedelta(seconds=CONFIRM_DEADLINE_SECONDS) + LATE_CHECK

    def title(self) -> str | None:
        """The title the create sent (VOD clips always carry one)."""
        if self.job.mode == "vod":
            return clean_title(self.job.requested_title) or vod_title(self.job)
        return clean_title(self.job.requested_title)


def search_window(lost: Iterable[LostCreate]) -> tuple[datetime, datetime]:
    sent = [item.sent_at for item in lost]
    return min(sent) - BEFORE_SEND, max(sent) + AFTER_SEND


def match_lost_clips(
    clips: Iterable[Clip],
    lost: Iterable[LostCreate],
    *,
    creator_id: str,
    held: Callable[[str, str], bool],
) -> dict[str, Clip]:
    """Job id -> its clip: made by `creator_id`, with the job's title (an untitled job: the
    only clip by that creator in a tight window), created in the job's window, the closest
    to its call, never one another job holds (`held(clip_id, job_id)`) or a clip twice."""
    mine = [c for c in clips if c.creator_id == creator_id and c.created_at is not None]
    taken: set[str] = set()
    found: dict[str, Clip] = {}
    for item in sorted(lost, key=lambda x: x.sent_at):
        title = item.title()
        after = AFTER_SEND if title else UNTITLED_AFTER_SEND
        opens, closes = item.sent_at - BEFORE_SEND, item.sent_at + after
        candidates = [
            c
            for c in mine
            if c.id not in taken
            and opens <= (c.created_at or opens) <= closes
            and (title is None or clean_title(c.title) == title)
            and not held(c.id, item.job.job_id)
        ]
        if title is None and len(candidates) != 1:
            continue
        if candidates:
            best = min(candidates, key=lambda c: abs((c.created_at or item.sent_at) - item.sent_at))
            taken.add(best.id)
            found[item.job.job_id] = best
    return found


class LostClipFinder:
    """The Get Clips side of recovery; the sweeper decides what the jobs become."""

    def __init__(self, twitch: HelixClips, *, held: Callable[[str, str], bool]) -> None:
        self._twitch = twitch
        self._held = held

    def find(
        self,
        tokens: TokenSource,
        *,
        creator_id: str,
        broadcaster_id: str,
        lost: list[LostCreate],
        deadline: float | None = None,
    ) -> dict[str, Clip]:
        """Search the channel's clips once over all of `lost`'s windows (paged) and match."""
        started_at, ended_at = search_window(lost)
        clips = self._twitch.clips_in_window(
            tokens, broadcaster_id, started_at, ended_at, max_pages=MAX_PAGES, deadline=deadline
        )
        return match_lost_clips(clips, lost, creator_id=creator_id, held=self._held)
