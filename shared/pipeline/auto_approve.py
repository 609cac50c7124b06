"""The auto-approval policy applied to a candidate just enqueued, through the one approval.

Whoever enqueues calls `consider` right after the write (the chat bot's sink worker, off the
chat loop; vision_ingest), with what only it knows: who asked for a `!clip`, which event the
model saw. The policy (`shared.domain.approval_policy`) names the matching rules; the first
whose caps have room (`shared.store.policy_uses`, race-safe) approves through
`shared.pipeline.approve.approve`, the app's own path, recorded as decided by
`policy <rule>` via `policy`. A person who decided first wins: the policy is told so and
does nothing. Every refusal has a reason, logged when a rule could have applied.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from functools import partial

from shared.domain.approval_policy import (
    PolicyFacts,
    approved_by,
    evaluate,
    facts_fields,
    plan_now,
    stream_key,
)
from shared.domain.approval_settings import PolicyRule
from shared.domain.clock import Clock, utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import ActionAlreadyDecided, InvalidInput, NotFound
from shared.domain.moment_plan import StreamState
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.policy_uses import HOUR_WINDOW, PolicyUses

logger = logging.getLogger(__name__)

VIA = "policy"
KEEP_OUTCOMES = 200


@dataclass(frozen=True)
class AutoOutcome:
    """What the policy did with one candidate: approved by `rule` (its `job_id`), or why not."""

    action_id: str
    approved: bool
    reason: str
    rule: str | None = None
    job_id: str | None = None


@dataclass(eq=False)
class AutoApprover:
    """The policy over the one approval; counts and recent outcomes for the health report."""

    queue: ActionQueue
    jobs: ClipJobStore
    uses: PolicyUses
    """Each rule's uses, shared by every process, so that its caps hold across them."""
    _: KW_ONLY
    clock: Clock = utc_now
    stats: Counter[str] = field(default_factory=Counter, init=False)
    outcomes: deque[AutoOutcome] = field(
        default_factory=partial(deque, maxlen=KEEP_OUTCOMES), init=False
    )

    def consider(
        self,
        facts: PolicyFacts,
        config: ControlPlaneConfig,
        *,
        stream: StreamState | None = None,
    ) -> AutoOutcome:
        """Approve this new candidate if a policy rule takes it now, within its caps."""
        now = self.clock()
        settings = config.approval
        plan = plan_now(
            facts,
            now=now,
            stream=stream,
            pre_roll=config.clip_pre_roll_seconds,
            post_roll=config.clip_post_roll_seconds,
        )
        verdict = evaluate(settings, facts, plan)
        on = settings.policy_enabled
        if not verdict.rules:
            outcome = AutoOutcome(facts.action_id, False, verdict.reason)
            return self._done(facts, outcome, policy_on=on)
        capped = []
        for rule in verdict.rules:
            full = self._spend(rule, facts, stream, now)
            if full:
                capped.append(full)
                continue
            return self._done(facts, self._approve(rule, facts, now), policy_on=on)
        outcome = AutoOutcome(facts.action_id, False, "; ".join(capped))
        return self._done(facts, outcome, policy_on=on)

    def _spend(
        self, rule: PolicyRule, facts: PolicyFacts, stream: StreamState | None, now: datetime
    ) -> str | None:
        """Take one use of each of the rule's caps; why not, when one is full."""
        per_stream, stream_cap = stream_key(stream, now), rule.max_per_stream
        stream_full = f"{rule.name} reached its cap of {stream_cap} per stream"

        def take(window: str, limit: int, *, hourly: bool) -> bool:
            used = self.uses.take(
                rule.name,
                window=window,
                limit=limit,
                hourly=hourly,
                action_id=facts.action_id,
                now=now,
            )
            return used is not None

        # A full stream cap is seen before an hourly use is spent on a rule that cannot apply.
        if stream_cap is not None and self.uses.reached(
            rule.name, window=per_stream, limit=stream_cap, hourly=False, now=now
        ):
            return stream_full
        if not take(HOUR_WINDOW, rule.max_per_hour, hourly=True):
            return f"{rule.name} reached its cap of {rule.max_per_hour} per hour"
        if stream_cap is not None and not take(per_stream, stream_cap, hourly=False):
            return stream_full
        return None

    def _approve(self, rule: PolicyRule, facts: PolicyFacts, now: datetime) -> AutoOutcome:
        who = approved_by(rule)
        try:
            job = approve(self.queue, self.jobs, facts.action_id, by=who, via=VIA, now=now)
        except ActionAlreadyDecided as error:
            by = f" by {error.by}" if error.by else ""
            why = f"already {error.status}{by}"
            return AutoOutcome(facts.action_id, False, why, rule.name)
        except (InvalidInput, NotFound) as error:
            return AutoOutcome(facts.action_id, False, str(error), rule.name)
        return AutoOutcome(facts.action_id, True, f"approved by {who}", rule.name, job.job_id)

    def _done(self, facts: PolicyFacts, outcome: AutoOutcome, *, policy_on: bool) -> AutoOutcome:
        """Count and log: an approval, and while the policy is on, why one did not happen."""
        self.outcomes.append(outcome)
        if outcome.approved:
            self.stats["approved"] += 1
            logger.info(
                "candidate approved by the auto-approval policy",
                extra={**facts_fields(facts), "rule": outcome.rule, "job_id": outcome.job_id},
            )
        elif policy_on:
            self.stats["not_approved"] += 1
            logger.info(
                "auto-approval policy did not approve",
                extra={**facts_fields(facts), "reason": outcome.reason},
            )
        return outcome
