"""What the app shows of the fast approval paths: codes, recent decisions, decision speed per
path, Discord posts, the Control plane's approval section; and vision's policy at enqueue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.approval_codes import full_code
from shared.domain.clip_candidate import new_candidate
from shared.domain.control_plane import ControlPlaneConfig, apply_changes, setting_value
from shared.domain.decision_speed import Decided, decision_speeds
from shared.pipeline.auto_approve import AutoApprover
from shared.pipeline.vision_ingest import VisionIngest
from shared.store.action_queue import ActionItem, ActionQueue, ActionStatus
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.discord_posts import PostRecord
from shared.store.policy_uses import PolicyUses
from shared.store.scene_context import SceneContextStore
from shared.store.vision_limits import VisionLimits
from shared.store.vision_stats import VisionStatsStore
from shared.vision_model.fake import FakeSceneClassifier
from streamlit_app.approval_view import decision_line, discord_rows, queue_codes, speeds
from streamlit_app.control_form import (
    all_specs,
    approval_field_specs,
    changed_fields,
    history_rows,
    widget_value,
)
from tests.factories import live_fields
from tests.test_vision_ingest import NOW as VISION_NOW
from tests.test_vision_ingest import VICTORY, frame_request

T0 = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


def item(n: int, *, channel: str = "12345", **decided) -> ActionItem:
    candidate = new_candidate(
        live_fields(
            broadcaster_id=channel,
            suggested_title=f"moment {n}",
            source_ts=(T0 - timedelta(seconds=10)).isoformat(),
        )
    )
    fields = {"action_id": f"cc_{n}", "payload": candidate, "created_at": T0, "updated_at": T0}
    return ActionItem.model_validate(fields | decided)


def test_codes_are_unique_per_channel_as_the_bot_computes_them():
    items = [item(n) for n in range(30)] + [item(99, channel="777")]
    codes = queue_codes(items)
    ours = [codes[f"cc_{n}"] for n in range(30)]
    assert len(set(ours)) == 30
    assert all(full_code(f"cc_{n}").startswith(codes[f"cc_{n}"]) for n in range(30))
    assert codes["cc_99"] == full_code("cc_99")[:2]


def test_a_policy_decision_reads_approved_by_policy_and_how_long_after_the_moment():
    decided = item(
        1,
        status=ActionStatus.APPROVED,
        decided_by="policy vip-clips",
        decided_via="policy",
        decided_at=T0 - timedelta(seconds=1),
    )
    line = decision_line(decided, T0 + timedelta(minutes=2, seconds=-1))
    assert line == "“moment 1” approved by policy vip-clips, 9 s after the moment (2 min ago)"
    chat = item(2, status=ActionStatus.REJECTED, decided_by="mod_one", decided_via="chat")
    assert decision_line(chat, T0).startswith("“moment 2” rejected by mod_one in chat")


def test_decision_speed_per_path_leaves_expiry_out():
    moment = T0
    items = [
        Decided(moment, moment + timedelta(seconds=s), "approved", "policy", "policy x")
        for s in (8, 9, 10)
    ] + [
        Decided(moment, moment + timedelta(seconds=s), "approved", "chat", "mod") for s in (20, 30)
    ]
    items += [
        Decided(moment, moment + timedelta(seconds=90), "approved", None, "op@example.com"),
        Decided(moment, moment + timedelta(minutes=30), "expired", None, "sweeper"),
    ]
    by_path = {s.path: s for s in decision_speeds(items)}
    assert (by_path["policy"].count, by_path["policy"].p50, by_path["policy"].p95) == (3, 9, 10)
    assert (by_path["chat"].p50, by_path["chat"].p95) == (20, 30)
    assert (by_path["app"].count, by_path["app"].p50) == (1, 90)
    decided = [item(1, status=ActionStatus.APPROVED, decided_via="chat", decided_at=T0)]
    assert [s.count for s in speeds(decided)] == [0, 1, 0]


def test_discord_posts_table_says_why_a_post_failed():
    records = [
        PostRecord("job_1", "cc_1", "12345", "Ace", "command", "ready", "posted", T0, "", "u"),
        PostRecord(
            "job_2", "cc_2", "12345", None, "vision", "ready", "failed", T0, "HTTP 404", None
        ),
    ]
    rows = discord_rows(records, T0 + timedelta(seconds=30))
    assert rows[0]["posted"] == "posted" and rows[0]["clip"] == "Ace"
    assert rows[1]["posted"] == "failed: HTTP 404" and rows[1]["clip"] == "job_2"


def test_the_control_plane_form_edits_the_approval_section_and_its_history_reads_well():
    specs = {s.name: s for s in approval_field_specs()}
    assert specs["approval.policy_rules"].kind == "rules"
    assert specs["approval.chat_roles"].kind == "multi"
    assert specs["approval.policy_enabled"].kind == "flag"
    config = ControlPlaneConfig()
    values = {s.name: widget_value(s, setting_value(config, s.name)) for s in all_specs()}
    values["approval.policy_rules"] = "vip-clips command roles=vip per_hour=2"
    values["approval.policy_enabled"] = True
    changes = changed_fields(config, values)
    assert set(changes) == {"approval.policy_rules", "approval.policy_enabled"}
    updated = apply_changes(config, changes, by="op", now=T0)
    assert updated.approval.policy_rules[0].max_per_hour == 2
    again = {s.name: widget_value(s, setting_value(updated, s.name)) for s in all_specs()}
    assert changed_fields(updated, again) == {}
    [row] = history_rows(
        [
            {
                "by": "op",
                "at": T0,
                "changes": {
                    "approval.policy_rules": [
                        {
                            "name": "vip-clips",
                            "source": "command",
                            "roles": ["vip"],
                            "max_per_hour": 2,
                        }
                    ]
                },
                "before": {"approval.policy_rules": []},
            }
        ],
        T0,
    )
    assert row["what changed"] == ("Policy rules: (none) → vip-clips command roles=vip per_hour=2")


def test_a_vision_rule_approves_a_victory_at_enqueue(db):
    ControlPlaneStore(db).write(
        {
            "approval.policy_enabled": True,
            "approval.policy_rules": [
                {"name": "wins", "source": "vision", "vision_events": ["victory"]}
            ],
        },
        by="tests@example.com",
    )
    queue = ActionQueue(db)
    ingest = VisionIngest(
        token="vision-ingest-test-token-abcdef",
        classifier=FakeSceneClassifier(),
        config=ControlPlaneStore(db, cache_seconds=0),
        limits=VisionLimits(db),
        scenes=SceneContextStore(db),
        queue=queue,
        stats=VisionStatsStore(db),
        clock=lambda: VISION_NOW,
        auto_approve=AutoApprover(
            queue, ClipJobStore(db), PolicyUses(db), clock=lambda: VISION_NOW
        ),
    )
    answer = ingest.handle(frame_request(VICTORY))
    assert answer.status == 200, answer.body
    action = queue.require(answer.body["action_id"])
    assert (action.status.value, action.decided_by, action.decided_via) == (
        "approved",
        "policy wins",
        "policy",
    )
    defeat = ingest.handle(frame_request(VICTORY | {"event": "clutch", "game": "Other"}))
    assert queue.require(defeat.body["action_id"]).status.value == "pending_approval"
