"""The auto-approval policy: settings (audited), the pure decision, race-safe caps, approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.approval_policy import (
    PolicyFacts,
    cap_reached,
    evaluate,
    plan_now,
    stream_key,
)
from shared.domain.approval_settings import (
    ApprovalSettings,
    PolicyRule,
    load_approval_settings,
    parse_rule_lines,
    rule_line,
)
from shared.domain.control_plane import ControlPlaneConfig, apply_changes, read_config
from shared.domain.errors import ConfigInvalid
from shared.domain.moment_plan import Archive, PlanMode, StreamState
from shared.pipeline.approve import approve
from shared.pipeline.auto_approve import AutoApprover
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.policy_uses import HOUR_WINDOW, PolicyUses
from tests.factories import live_fields
from tests.racing import race

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
VIP_RULE = {"name": "vip-clips", "source": "command", "roles": ["vip", "moderator"]}


def facts(**changes) -> PolicyFacts:
    base = {
        "action_id": "cc_test",
        "broadcaster_id": "12345",
        "source": "command",
        "score": 1.0,
        "moment": NOW - timedelta(seconds=8),
        "mode": "live",
        "duration": 30.0,
        "requester_roles": frozenset({"vip"}),
    }
    return PolicyFacts(**(base | changes))


def settings(*rules: dict, on: bool = True) -> ApprovalSettings:
    return ApprovalSettings.model_validate({"policy_enabled": on, "policy_rules": list(rules)})


# --- settings -------------------------------------------------------------------------------


def test_defaults_approve_nothing_and_moderators_decide_in_chat():
    config = ControlPlaneConfig()
    assert config.approval.policy_enabled is False and config.approval.policy_rules == ()
    assert config.approval.announce_sources == ()
    assert config.approval.may_decide(frozenset({"moderator"}))
    assert config.approval.may_decide(frozenset({"broadcaster"}))
    assert not config.approval.may_decide(frozenset({"vip", "subscriber"}))
    assert config.approval.discord_statuses == ("ready",)


def test_rules_are_checked_and_named_when_wrong():
    with pytest.raises(ConfigInvalid) as caught:
        apply_changes(
            ControlPlaneConfig(),
            {
                "approval.policy_rules": [
                    {"name": "spikes", "source": "chat_spike", "roles": ["vip"]},
                    {"name": "spikes", "source": "vision", "min_score": 2},
                ]
            },
            by="op",
            now=NOW,
        )
    messages = [p.message for p in caught.value.problems]
    assert {p.field for p in caught.value.problems} == {"approval.policy_rules"}
    assert any("rule 1" in m and "roles" in m for m in messages)
    assert any("rule 2, min_score" in m for m in messages)
    with pytest.raises(ConfigInvalid, match=r"approval\.no_such"):
        apply_changes(ControlPlaneConfig(), {"approval.no_such": 1}, by="op", now=NOW)
    with pytest.raises(ConfigInvalid, match="policy_enabled"):
        apply_changes(ControlPlaneConfig(), {"approval.policy_enabled": "yes"}, by="op", now=NOW)


def test_a_bad_stored_policy_falls_back_to_no_automatic_approval():
    loaded = read_config(
        {"approval": {"policy_enabled": True, "policy_rules": [{"name": "x"}], "chat_roles": []}}
    )
    assert loaded.config.approval.policy_rules == ()
    assert loaded.config.approval.policy_enabled is True
    assert loaded.config.approval.chat_roles == ()
    assert any(p.field == "approval.policy_rules" for p in loaded.fallbacks)
    assert load_approval_settings("nonsense")[0] == ApprovalSettings()


def test_rule_lines_round_trip_and_unknown_words_are_refused_by_name():
    rule = PolicyRule.model_validate(VIP_RULE | {"max_per_hour": 2, "max_per_stream": 5})
    line = rule_line(rule)
    assert line == "vip-clips command roles=vip,moderator per_hour=2 per_stream=5"
    assert PolicyRule.model_validate(parse_rule_lines(line)[0]) == rule
    parsed = parse_rule_lines("# comment\n\nbig vision events=victory,clutch min_score=0.9 off")
    assert PolicyRule.model_validate(parsed[0]).vision_events == ("victory", "clutch")
    assert PolicyRule.model_validate(parsed[0]).enabled is False
    with pytest.raises(ValueError, match="colour"):
        PolicyRule.model_validate(parse_rule_lines("x command colour=red")[0])


def test_every_rule_change_is_audited_with_who_and_before(db):
    store = ControlPlaneStore(db)
    store.write({"approval.policy_rules": [VIP_RULE]}, by="alice@example.com", now=NOW)
    store.write(
        {"approval.policy_enabled": True}, by="bob@example.com", now=NOW + timedelta(minutes=1)
    )
    config = ControlPlaneStore(db).read()
    assert config.approval.policy_enabled and config.approval.policy_rules[0].name == "vip-clips"
    history = store.history()
    assert [h["by"] for h in history] == ["bob@example.com", "alice@example.com"]
    assert history[1]["changes"]["approval.policy_rules"][0]["name"] == "vip-clips"
    assert history[1]["before"]["approval.policy_rules"] == []
    assert history[0]["before"]["approval.policy_enabled"] is False


# --- the pure decision ----------------------------------------------------------------------


def verdict(rules: ApprovalSettings, **changes):
    f = facts(**changes)
    return evaluate(rules, f, plan_now(f, now=NOW))


def test_a_vips_clip_matches_and_a_viewers_does_not():
    rules = settings(VIP_RULE)
    assert [r.name for r in verdict(rules).rules] == ["vip-clips"]
    refused = verdict(rules, requester_roles=frozenset({"subscriber"}))
    assert refused.rules == () and "did not come from vip or moderator" in refused.reason
    assert verdict(rules, requester_roles=frozenset({"broadcaster"})).rules


def test_the_one_switch_turns_every_rule_off():
    assert (
        verdict(settings(VIP_RULE, on=False)).reason == "the auto-approval policy is switched off"
    )
    off = settings(VIP_RULE | {"enabled": False})
    assert verdict(off).reason == "no auto-approval rule is on"


def test_score_source_and_vision_event_are_checked():
    spikes = settings({"name": "big", "source": "chat_spike", "min_score": 0.8})
    assert verdict(spikes, source="chat_spike", score=0.9).rules
    assert "below 0.8" in verdict(spikes, source="chat_spike", score=0.5).reason
    assert "it takes chat_spike, not command" in verdict(spikes).reason
    wins = settings({"name": "wins", "source": "vision", "vision_events": ["victory"]})
    assert verdict(wins, source="vision", vision_event="victory").rules
    assert (
        "defeat is not in victory" in verdict(wins, source="vision", vision_event="defeat").reason
    )


def test_only_a_moment_the_planner_can_still_clip_is_approved():
    rules = settings(VIP_RULE)
    too_old = verdict(rules, moment=NOW - timedelta(seconds=90))
    assert too_old.rules == () and "no clip can hold the moment now" in too_old.reason
    started = NOW - timedelta(hours=1)
    stream = StreamState(True, "s1", started, (Archive("900001", started, "s1"),))
    f = facts(moment=NOW - timedelta(seconds=90))
    assert plan_now(f, now=NOW, stream=stream).mode is PlanMode.VOD
    assert evaluate(rules, f, plan_now(f, now=NOW, stream=stream)).rules
    assert plan_now(facts(mode="vod"), now=NOW).creates


def test_cap_arithmetic_per_rolling_hour_and_per_stream():
    hour_ago = NOW - timedelta(minutes=61)
    assert not cap_reached(taken=1, limit=2, oldest_in_window=None, now=NOW, hourly=True)
    assert cap_reached(taken=2, limit=2, oldest_in_window=NOW, now=NOW, hourly=True)
    assert not cap_reached(taken=2, limit=2, oldest_in_window=hour_ago, now=NOW, hourly=True)
    assert cap_reached(taken=5, limit=5, oldest_in_window=hour_ago, now=NOW, hourly=False)
    assert stream_key(StreamState(True, "77"), NOW) == "stream-77"
    assert stream_key(None, NOW) == "day-20261129"


# --- caps and approval on Firestore ---------------------------------------------------------


def test_caps_hold_under_racing_processes(new_client, db):
    results = race(
        8,
        new_client,
        lambda client, i: PolicyUses(client).take(
            "vip-clips", window=HOUR_WINDOW, limit=3, hourly=True, action_id=f"a{i}", now=NOW
        ),
    )
    assert sorted(r for r in results if r is not None) == [1, 2, 3]
    assert results.count(None) == 5
    assert PolicyUses(db).count_since("vip-clips", window=HOUR_WINDOW, since=NOW) == 3
    later = NOW + timedelta(minutes=61)
    uses = PolicyUses(db)
    assert uses.take(
        "vip-clips", window=HOUR_WINDOW, limit=3, hourly=True, action_id="b", now=later
    )
    assert not uses.reached("vip-clips", window="stream-1", limit=1, hourly=False, now=NOW)


def enqueue(db, **fields) -> str:
    return ActionQueue(db).submit(live_fields(**fields)).action_id


def config_with(*rules: dict, on: bool = True) -> ControlPlaneConfig:
    return ControlPlaneConfig().model_copy(update={"approval": settings(*rules, on=on)})


def test_the_policy_approves_through_the_one_approval_and_stops_at_its_hourly_cap(db):
    queue, jobs = ActionQueue(db), ClipJobStore(db)
    approver = AutoApprover(queue, jobs, PolicyUses(db), clock=lambda: NOW)
    config = config_with(VIP_RULE | {"max_per_hour": 2})
    outcomes = []
    for n in range(3):
        moment = (NOW - timedelta(seconds=8)).isoformat()
        action_id = enqueue(db, source="command", source_ts=moment, suggested_title=f"vip {n}")
        outcomes.append(approver.consider(facts(action_id=action_id), config))
    assert [o.approved for o in outcomes] == [True, True, False]
    assert "reached its cap of 2 per hour" in outcomes[2].reason
    first = queue.require(outcomes[0].action_id)
    assert (first.status.value, first.decided_by, first.decided_via) == (
        "approved",
        "policy vip-clips",
        "policy",
    )
    job = jobs.require(outcomes[0].job_id or "")
    assert job.approved_by == "policy vip-clips"
    assert queue.require(outcomes[2].action_id).status.value == "pending_approval"


def test_a_person_who_decided_first_wins_over_the_policy(db):
    queue, jobs = ActionQueue(db), ClipJobStore(db)
    action_id = enqueue(db, source="command", source_ts=(NOW - timedelta(seconds=8)).isoformat())
    approve(queue, jobs, action_id, by="op@example.com", now=NOW)
    approver = AutoApprover(queue, jobs, PolicyUses(db), clock=lambda: NOW)
    outcome = approver.consider(facts(action_id=action_id), config_with(VIP_RULE))
    assert not outcome.approved and outcome.reason == "already approved by op@example.com"
    assert queue.require(action_id).decided_via == "app"


def test_with_the_policy_off_nothing_is_read_or_written(db):
    queue, jobs = ActionQueue(db), ClipJobStore(db)
    action_id = enqueue(db, source="command", source_ts=(NOW - timedelta(seconds=8)).isoformat())
    approver = AutoApprover(queue, jobs, PolicyUses(db), clock=lambda: NOW)
    outcome = approver.consider(facts(action_id=action_id), config_with(VIP_RULE, on=False))
    assert not outcome.approved
    assert queue.require(action_id).status.value == "pending_approval"
    assert PolicyUses(db).count_since("vip-clips", window=HOUR_WINDOW, since=NOW) == 0
