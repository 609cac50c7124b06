"""Confirms new clips with shared Get Clips calls, looking when a clip is likely to show.

Twitch makes a clip visible some time after its 202: usually seconds, sometimes far longer
(twitchdev/issues #1135). Looking at a fixed pace wastes calls while a clip cannot be there
yet and still lags once it is. So the confirmer keeps the delays it recently observed
(`VisibilityDelays`) and spaces each clip's looks by probability: the next look comes once
another `step` of the observed delays has passed since the last one, never closer than
`min_gap` or further apart than `max_gap`, with a last look just before the deadline.

One call covers the clips a process waits on for the same token (up to 100 ids per call):
when one clip's look is due, the others that could be showing by now ride along, which costs
nothing more. A clip rides only between the shortest delay seen and `max_gap` past
`TAIL_QUANTILE` of them: a clip too young to show gains nothing, and a slow one is left to its
own sparse looks. With
`k` clips riding, calls come `RIDE_SECONDS / k` apart (never closer than `min_gap`), so each
clip's share of the calls stays about one per `RIDE_SECONDS` however many share them, while a
busy channel's calls come often enough that a clip is seen soon after it shows. With one
clip, only its own schedule makes calls.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from shared.domain.errors import ClipError
from shared.domain.twitch_models import Clip, TokenSource
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

CONFIRM_DEADLINE_SECONDS = 15.0
LOOK_SECONDS = 2.5
# A look not answered by then is looked past: its clips go into the next call as if it had
# failed (a stuck call does not hold up the schedule; its answer still counts if it comes).
LOOK_PATIENCE_SECONDS = 1.0
# Looks in flight at once per process (a stuck one plus the ones that go on meanwhile).
MAX_LOOKS_IN_FLIGHT = 4
# The last look before a verdict comes this long before it.
LAST_LOOK_SECONDS = 0.05
# Past this share of the observed delays a clip is probably a slow one: its looks back off
# geometrically (late confirmation finds it if it shows after the verdict).
TAIL_QUANTILE = 0.9
# A slow clip's look waits up to this long for a call made for others before making its own.
TAIL_SLACK_SECONDS = 2.0
# Calls carrying k riding clips come RIDE_SECONDS / k apart: each clip's share of them is
# about one call per RIDE_SECONDS, wherever k lies.
RIDE_SECONDS = 3.5
# Until a process has seen this many clips, it assumes Twitch's usual 1-6 s.
PRIOR_DELAYS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0)


class VisibilityDelays:
    """The last `keep` delays between a 202 and the clip showing in Get Clips, as an
    empirical distribution (linear between samples) that says when to look next."""

    def __init__(
        self,
        *,
        keep: int = 200,
        prior: Iterable[float] = PRIOR_DELAYS,
        min_samples: int = 8,
        step: float = 0.08,
        lone_steps: float = 3.0,
        min_gap: float = 0.4,
        max_gap: float = 2.0,
    ) -> None:
        self._recent: deque[float] = deque(maxlen=keep)
        self._prior = sorted(prior)
        self._min_samples = min_samples
        self._step = step
        self._lone_steps = lone_steps
        self._min_gap = min_gap
        self._max_gap = max_gap
        self._lock = threading.Lock()
        self._sorted: list[float] = list(self._prior)

    @property
    def min_gap(self) -> float:
        """The closest two looks ever come; also the least time between two calls."""
        return self._min_gap

    def observe(self, seconds: float) -> None:
        """A clip seen `seconds` after its 202 (the middle of its last two looks), or not seen
        by its deadline (then the deadline: slow clips make the looks sparser later on)."""
        with self._lock:
            self._recent.append(max(seconds, 0.0))
            samples = self._recent if len(self._recent) >= self._min_samples else self._prior
            self._sorted = sorted(samples)

    def cdf(self, age: float) -> float:
        """The share of delays at or below `age`, linear between the samples."""
        samples = self._sorted
        if not samples or age < samples[0]:
            return 0.0
        if age >= samples[-1]:
            return 1.0
        i = bisect.bisect_right(samples, age)
        low, high = samples[i - 1], samples[i]
        fraction = 0.0 if high == low else (age - low) / (high - low)
        return (i - 1 + fraction) / (len(samples) - 1)

    def quantile(self, q: float) -> float:
        samples = self._sorted
        position = min(max(q, 0.0), 1.0) * (len(samples) - 1)
        i = int(position)
        if i >= len(samples) - 1:
            return samples[-1]
        return samples[i] + (samples[i + 1] - samples[i]) * (position - i)

    def slow_after(self) -> float:
        """The age past which a clip is a slow one: `max_gap` past `TAIL_QUANTILE` of the
        delays, so that the usual delays' own tail still rides every call and is seen soon."""
        return self.quantile(TAIL_QUANTILE) + self._max_gap

    def rides(self, age: float) -> bool:
        """Whether a clip `age` seconds after its 202 is worth a look in a call made for
        another: it could be showing (past the shortest delay seen) and is not a slow one."""
        return self.quantile(0.0) <= age < self.slow_after()

    def next_look(self, last: float | None, sharing: int = 1) -> float:
        """The age (seconds after the 202) of the next look, after one at age `last` (None:
        the first look, half a step into the distribution). A clip alone pays for each call:
        its looks are `lone_steps` times sparser, down to the step once `sharing` clips share
        the calls. Past the `TAIL_QUANTILE` of the delays, the time since that point doubles
        with each look (never closer than `min_gap`): a slow clip costs few calls of its own."""
        step = max(self._step, self._step * self._lone_steps / max(sharing, 1))
        if last is None:
            return self.quantile(step / 2)
        tail = self.quantile(TAIL_QUANTILE)
        if last >= tail:
            return last + max(self._min_gap, last - tail)
        target = self.cdf(last) + step
        at = self.quantile(target) if target < 1.0 else last + self._max_gap
        return min(max(at, last + self._min_gap), last + self._max_gap)


@dataclass
class _Waiter:
    clip_id: str
    tokens: TokenSource
    group: str
    created: float  # when the 202 came, on the confirmer's clock
    deadline: float
    next_at: float
    last_age: float | None = None
    looking: int = 0  # calls in flight that carry this clip
    done: threading.Event = field(default_factory=threading.Event)
    clip: Clip | None = None


class ClipConfirmer:
    def __init__(
        self,
        twitch: HelixClips,
        *,
        delays: VisibilityDelays | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._twitch = twitch
        self.delays = delays or VisibilityDelays()
        self._clock = clock
        self._waiters: list[_Waiter] = []
        self._last_call: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._calls = ThreadPoolExecutor(MAX_LOOKS_IN_FLIGHT, thread_name_prefix="clip-look")

    def wait_visible(
        self,
        tokens: TokenSource,
        clip_id: str,
        *,
        group: str,
        timeout: float,
        elapsed: float = 0.0,
    ) -> Clip | None:
        """Block until Get Clips shows `clip_id` (the Clip) or `timeout` passes (None); the
        clip is looked at at least once, even when `timeout` has already passed.

        `group` names whose token is used (waiters of one group share calls); `elapsed` is how
        long ago the 202 came, so the looks follow the clip's age. A second caller for a clip
        already waited on (a redelivered event) shares that wait instead of adding looks.
        """
        now = self._clock()
        created = now - max(elapsed, 0.0)
        deadline = now + max(timeout, 0.0)
        first = max(created + self.delays.next_look(None), now)
        with self._lock:
            waiter = next((w for w in self._waiters if w.clip_id == clip_id), None)
            joined = waiter is not None
            if waiter is None:
                waiter = _Waiter(clip_id, tokens, group, created, deadline, min(first, deadline))
                self._waiters.append(waiter)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="clip-confirmer", daemon=True
                )
                self._thread.start()
        self._wake.set()
        waiter.done.wait(max(waiter.deadline - now, 0.0) + LOOK_SECONDS + 10.0)
        if not joined:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return waiter.clip

    def _run(self) -> None:
        while True:
            self._wake.clear()
            with self._lock:
                if not self._waiters:
                    self._thread = None
                    return
                waiters = list(self._waiters)
            now = self._clock()
            live = []
            for waiter in waiters:
                if now >= waiter.deadline and waiter.last_age is not None:
                    # The verdict waits for a look in flight: it may yet see the clip.
                    if not waiter.looking:
                        self.delays.observe(waiter.deadline - waiter.created)
                        self._finish(waiter, None)
                    continue
                live.append(waiter)
            groups: dict[str, list[_Waiter]] = {}
            for waiter in live:
                groups.setdefault(waiter.group, []).append(waiter)
            wake_at = now + 0.5
            for group, members in groups.items():
                at = self._call_at(group, members)
                if at <= now:
                    self._last_call[group] = now
                    self._start_look(self._carried(members, now), now)
                    at = self._call_at(group, [w for w in members if not w.done.is_set()])
                wake_at = min(wake_at, at)
            self._wake.wait(max(wake_at - self._clock(), 0.005))

    def _call_at(self, group: str, members: list[_Waiter]) -> float:
        """When the group's next call goes: its first due look, but calls at least `min_gap`
        apart, and `RIDE_SECONDS / k` apart while `k` clips ride them (a clip just arriving
        waits for the next call instead of making its own), unless a clip's last look before
        its verdict would otherwise come after the verdict (a clip that had its last look waits
        for its verdict, `next_at` = `deadline`, and hurries nobody)."""
        if not members:
            return self._clock() + 0.5
        now = self._clock()
        due = min(self._due_at(w, now) for w in members)
        riding = sum(1 for w in members if self.delays.rides(now - w.created))
        gap = self.delays.min_gap if riding < 2 else max(self.delays.min_gap, RIDE_SECONDS / riding)
        at = max(due, self._last_call.get(group, -1.0) + gap)
        closing = [
            max(w.next_at, w.deadline - LAST_LOOK_SECONDS)
            for w in members
            if w.next_at < w.deadline <= at
        ]
        return min([at, *closing])

    def _due_at(self, waiter: _Waiter, now: float) -> float:
        """When a clip's look makes a call: a slow clip's (past `slow_after`, looked at before)
        waits up to `TAIL_SLACK_SECONDS` for a call made anyway, except its last look
        before the verdict."""
        last = waiter.deadline - LAST_LOOK_SECONDS
        slow = now - waiter.created >= self.delays.slow_after()
        if not slow or waiter.last_age is None or waiter.next_at >= last:
            return waiter.next_at
        return min(waiter.next_at + TAIL_SLACK_SECONDS, last)

    def _carried(self, members: list[_Waiter], now: float) -> list[_Waiter]:
        """Who a call carries: the clips whose look is due, and those worth a look anyway."""
        return [w for w in members if w.next_at <= now or self.delays.rides(now - w.created)]

    def _start_look(self, members: list[_Waiter], now: float) -> None:
        """Send one call for `members` on a look thread; until it answers, their next look is
        `LOOK_PATIENCE_SECONDS` away, so a call stuck on Twitch's side is looked past by the
        next one instead of holding every clip up."""
        with self._lock:
            for waiter in members:
                waiter.looking += 1
                waiter.next_at = min(now + LOOK_PATIENCE_SECONDS, waiter.deadline)
        self._calls.submit(self._look, members, now)

    def _look(self, members: list[_Waiter], now: float) -> None:
        # A look never waits long: a failed or stuck one is followed by the next call.
        deadline = self._twitch.now() + LOOK_SECONDS
        try:
            found = self._twitch.get_clips(
                members[0].tokens, [w.clip_id for w in members], retry=False, deadline=deadline
            )
        except ClipError as error:
            logger.warning("confirming clips failed, will look again", extra={"e": error.code})
            found = []
        except Exception:
            logger.exception("confirming clips failed, will look again")
            found = []
        with self._lock:
            self._answered(members, now, {clip.id: clip for clip in found})
        self._wake.set()

    def _answered(self, members: list[_Waiter], now: float, by_id: dict[str, Clip]) -> None:
        """One call's answer, under the lock: clips seen are done; the others' next looks."""
        for waiter in members:
            if waiter.done.is_set():
                continue
            age = now - waiter.created
            if waiter.clip_id in by_id:
                seen = age if waiter.last_age is None else (waiter.last_age + age) / 2
                self.delays.observe(seen)
                self._finish(waiter, by_id[waiter.clip_id], locked=True)
                continue
            waiter.looking -= 1
            if waiter.last_age is not None and age <= waiter.last_age:
                continue  # a later look already answered
            waiter.last_age = age
            following = waiter.created + self.delays.next_look(age, len(members))
            # The verdict waits for one last look just before the deadline, and no more: a look
            # at or past that point leaves the waiter to its verdict, not to another call.
            # (A look within twice that of the deadline counts as the last one.)
            last = waiter.deadline - LAST_LOOK_SECONDS
            done = now >= last - LAST_LOOK_SECONDS
            waiter.next_at = waiter.deadline if done else min(following, last)

    def _finish(self, waiter: _Waiter, clip: Clip | None, *, locked: bool = False) -> None:
        if locked:
            self._finished(waiter, clip)
            return
        with self._lock:
            self._finished(waiter, clip)

    def _finished(self, waiter: _Waiter, clip: Clip | None) -> None:
        waiter.clip = clip
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        waiter.done.set()
