"""The auto-approval policy's decision, without its caps' storage; pure.

A candidate is approved by the policy only when the policy is switched on, an enabled rule
matches it (source, score, who asked, which vision event), and the moment planner says a clip
can still hold the moment now. Which rule, or why none: an operator reads the reason in the
logs and the queue. The caps (per rolling hour, per stream) are counted by the store, race-safe
(`shared.store.policy_uses`); `cap_reached` is their arithmetic.

"Can still hold the moment" uses the planner as the worker will: with what is known of the
stream. Where nothing is known (the chat bot and vision_ingest do not call Get Streams), the
stream is taken to be live with no archive listed, so only a moment a live clip still
reaches is approved automatically; an older one waits for a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.approval_settings import ApprovalSettings, PolicyRule
from shared.domain.clip_candidate import ClipCandidate
from shared.domain.language import N_, Phrase
from shared.domain.moment_plan import (
    DEFAULT_POST_ROLL,
    DEFAULT_PRE_ROLL,
    MomentPlan,
    PlanMode,
    StreamState,
    plan_moment,
)

HOUR = timedelta(hours=1)
ASSUMED_STREAM = StreamState(live=True)


@dataclass(frozen=True)
class PolicyFacts:
    """What the policy looks at in one new candidate; `requester_roles` for a `!clip`,
    `vision_event` for a vision candidate (neither is stored in the candidate)."""

    action_id: str
    broadcaster_id: str
    source: str
    score: float
    moment: datetime
    mode: str
    duration: float
    requester_roles: frozenset[str] = frozenset()
    vision_event: str | None = None

    @classmethod
    def of(
        cls,
        action_id: str,
        candidate: ClipCandidate,
        *,
        requester_roles: frozenset[str] = frozenset(),
        vision_event: str | None = None,
    ) -> PolicyFacts:
        return cls(
            action_id=action_id,
            broadcaster_id=candidate.broadcaster_id,
            source=candidate.source,
            score=candidate.score,
            moment=candidate.source_ts,
            mode=candidate.mode,
            duration=candidate.suggested_duration,
            requester_roles=requester_roles,
            vision_event=vision_event,
        )


@dataclass(frozen=True)
class PolicyVerdict:
    """The matching enabled rules in order (their caps still to check), or why none."""

    rules: tuple[PolicyRule, ...]
    reason: str
    plan: MomentPlan | None = None


def plan_now(
    facts: PolicyFacts,
    *,
    now: datetime,
    stream: StreamState | None = None,
    pre_roll: float = DEFAULT_PRE_ROLL,
    post_roll: float = DEFAULT_POST_ROLL,
) -> MomentPlan:
    """What approving now would make. A VOD-mode candidate names its clip already, so its
    moment is held whenever it is approved."""
    if facts.mode == "vod":
        age = (now - facts.moment).total_seconds()
        named = (Phrase(N_("The candidate names its VOD clip.")),)
        return MomentPlan(PlanMode.VOD, Phrase(N_("VOD as queued")), named, age)
    return plan_moment(
        facts.moment,
        now=now,
        requested_duration=facts.duration,
        stream=stream or ASSUMED_STREAM,
        pre_roll=pre_roll,
        post_roll=post_roll,
    )


def mismatch(rule: PolicyRule, facts: PolicyFacts) -> str | None:
    """Why `rule` does not take this candidate, or None when it does (caps aside)."""
    if rule.source != facts.source:
        return f"it takes {rule.source}, not {facts.source}"
    if facts.score < rule.min_score:
        return f"score {facts.score:.2f} is below {rule.min_score:g}"
    if rule.roles and not (
        "broadcaster" in facts.requester_roles or facts.requester_roles.intersection(rule.roles)
    ):
        return f"the request did not come from {' or '.join(rule.roles)}"
    if rule.vision_events and facts.vision_event not in rule.vision_events:
        return (
            f"the event {facts.vision_event or 'unknown'} is not in {', '.join(rule.vision_events)}"
        )
    return None


def evaluate(settings: ApprovalSettings, facts: PolicyFacts, plan: MomentPlan) -> PolicyVerdict:
    """The rules that would approve this candidate now, in order, or why none would."""
    if not settings.policy_enabled:
        return PolicyVerdict((), "the auto-approval policy is switched off")
    enabled = [rule for rule in settings.policy_rules if rule.enabled]
    if not enabled:
        return PolicyVerdict((), "no auto-approval rule is on")
    misses = {rule.name: mismatch(rule, facts) for rule in enabled}
    matching = tuple(rule for rule in enabled if misses[rule.name] is None)
    if not matching:
        said = "; ".join(f"{name}: {why}" for name, why in misses.items())
        return PolicyVerdict((), f"no rule matches ({said})", plan)
    if not plan.creates:
        return PolicyVerdict((), f"no clip can hold the moment now ({plan.label})", plan)
    names = ", ".join(rule.name for rule in matching)
    return PolicyVerdict(matching, f"matched by {names}", plan)


def stream_key(stream: StreamState | None, now: datetime) -> str:
    """What 'per stream' counts under: the stream's id, or the UTC day when it is unknown."""
    if stream is not None and stream.live and stream.stream_id:
        return f"stream-{stream.stream_id}"
    return f"day-{now:%Y%m%d}"


def cap_reached(
    *, taken: int, limit: int, oldest_in_window: datetime | None, now: datetime, hourly: bool
) -> bool:
    """Whether use number `taken + 1` would exceed the cap.

    Uses are numbered 1, 2, 3...; `oldest_in_window` is when use `taken + 1 - limit` was
    made (None when there is none). Per stream, no more than `limit` uses; per rolling hour,
    the use `limit` back must be an hour old, so no hour ever holds more than `limit`.
    """
    if taken < limit:
        return False
    if not hourly:
        return True
    return oldest_in_window is not None and now - oldest_in_window < HOUR


def approved_by(rule: PolicyRule) -> str:
    """Who decided, as the queue, the job and every page show it."""
    return f"policy {rule.name}"


def facts_fields(facts: PolicyFacts) -> Mapping[str, Any]:
    """The facts as log context (no chat text in them)."""
    return {
        "action_id": facts.action_id,
        "source": facts.source,
        "score": facts.score,
        "mode": facts.mode,
        "requester_roles": sorted(facts.requester_roles),
        "vision_event": facts.vision_event,
    }
