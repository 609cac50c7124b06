"""Approval at the speed of the moment, end to end: a replayed chat (`python -m chatbot --replay`'s
path) on the Firestore emulator, the clip functions on the Helix simulator, and ready clips
posted to the Discord stand-in by the chat bot's relay (issue 15).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatbot.replay import ReplayReport, replay_file
from local.clip_harness import (
    connect_channel,
    wait_for_job,
)
from local.discord_standin import DiscordStandin
from local.helix_simulator import HelixSimulator
from shared.discord.webhook import DiscordWebhook
from shared.domain.approval_codes import shown_codes
from shared.domain.clip_job import JobStatus
from shared.pipeline.discord_posts import DiscordPoster, DiscordRelay
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.discord_posts import DiscordPostStore

_ids = iter(range(92_000, 93_000))
# Every !clip its own candidate: no global cooldown, no joining a nearby moment.
OPEN_CHAT = {
    "chat.clip_global_cooldown_seconds": 0.0,
    "chat.clip_user_cooldown_seconds": 0.0,
    "chat.moment_merge_seconds": 0.0,
    "chat.llm_enabled": False,
}


@pytest.fixture
def channel(db, sim) -> str:
    broadcaster = str(next(_ids))
    connect_channel(sim, db, broadcaster)
    ControlPlaneStore(db).write(OPEN_CHAT, by="e2e@example.com")
    return broadcaster


def chat_log(tmp_path: Path, channel: str, lines: list[tuple[str, str, list[str]]]) -> Path:
    """A replay log (docs/architecture.md §6.6) with a line a second, starting now."""
    start = datetime.now(UTC)
    path = tmp_path / f"chat-{time.monotonic_ns()}.jsonl"
    rows = []
    for n, (user, text, badges) in enumerate(lines):
        at = (start + timedelta(seconds=n)).isoformat(timespec="milliseconds")
        rows.append(
            json.dumps(
                {
                    "ts": at.replace("+00:00", "Z"),
                    "user_id": f"u-{user}",
                    "user": user,
                    "text": text,
                    "badges": badges,
                    "broadcaster_id": channel,
                }
            )
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def replay(db, tmp_path: Path, channel: str, *lines: tuple[str, str, list[str]]) -> ReplayReport:
    report = replay_file(chat_log(tmp_path, channel, list(lines)), db, speed=0, from_now=True)
    assert report.drained
    return report


def codes(db, channel: str) -> dict[str, str]:
    """The code chat sees for each pending candidate of the channel, by title."""
    items = [i for i in ActionQueue(db).list_pending() if i.payload.broadcaster_id == channel]
    shown = shown_codes(i.action_id for i in items)
    return {i.payload.suggested_title or "": shown[i.action_id] for i in items}


def jobs(db, channel: str) -> list[dict]:
    return [
        s.to_dict() or {}
        for s in db.collection("clip_jobs").stream()
        if (s.to_dict() or {}).get("broadcaster_id") == channel
    ]


def discord_relay(db_client, standin: DiscordStandin, instance: str) -> DiscordRelay:
    store = DiscordPostStore(db_client)
    poster = DiscordPoster(store, DiscordWebhook(standin.webhook_url), instance=instance)
    control = ControlPlaneStore(db_client)
    return DiscordRelay(store, poster, config=control.read, broadcaster_id=None)


def creates(sim: HelixSimulator, channel: str) -> list:
    return [
        c
        for c in sim.calls
        if c.method == "POST"
        and c.path == "/helix/clips"
        and c.query.get("broadcaster_id") == [channel]
    ]


def test_mods_decide_in_chat_and_the_ready_clip_reaches_discord_once(
    db, new_client, sim, relay, channel, tmp_path
):
    replay(db, tmp_path, channel, ("fan_one", "!clip Boss one-shots the streamer", ["subscriber"]))
    code = codes(db, channel)["Boss one-shots the streamer"]

    with DiscordStandin() as standin:
        posters = [discord_relay(new_client(), standin, f"bot-{n}").start() for n in range(2)]
        standin.rate_limit_next(1, retry_after=0.4)
        try:
            report = replay(
                db,
                tmp_path,
                channel,
                ("viewer_joe", f"!approve {code}", []),
                ("mod_one", f"!approve {code}", ["moderator"]),
                ("mod_two", f"!approve {code}", ["moderator"]),
            )
            [job] = jobs(db, channel)
            ready = wait_for_job(db, job["job_id"])
            deadline = time.monotonic() + 20
            while not standin.messages and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)
        finally:
            for poster in posters:
                poster.stop()

    # a viewer's !approve does nothing but one refusal; the first mod's approves
    assert (
        report.replies[0] == "@viewer_joe only the streamer and mods can approve or reject clips."
    )
    assert report.replies[1].startswith(f"@mod_one approved {code}")
    # the second mod is told who was first; still exactly one job
    assert report.replies[2] == f"@mod_two {code} was already approved by mod_one."
    assert report.decisions == {"approved": 1, "already": 1}
    assert len(jobs(db, channel)) == 1
    assert ready.status is JobStatus.READY, ready.error_detail
    assert (ready.approved_by, ready.candidate_source) == ("mod_one", "command")
    assert len(creates(sim, channel)) == 1
    item = ActionQueue(db).require(ready.action_id)
    assert (item.decided_by, item.decided_via) == ("mod_one", "chat")
    # Discord: once, across a 429 and two relays
    assert len(standin.messages) == 1
    assert [a.status for a in standin.attempts] == [429, 200]
    embed = standin.messages[0]["embeds"][0]
    assert embed["url"] == ready.clip_url and embed["title"] == "Boss one-shots the streamer"


def test_a_policy_rule_approves_vip_clips_and_stops_at_its_hourly_cap(
    db, sim, relay, channel, tmp_path
):
    ControlPlaneStore(db).write(
        {
            "approval.policy_rules": [
                {
                    "name": "vip-clips",
                    "source": "command",
                    "roles": ["vip", "moderator"],
                    "max_per_hour": 2,
                }
            ],
            "approval.policy_enabled": True,
        },
        by="e2e@example.com",
    )
    report = replay(
        db,
        tmp_path,
        channel,
        ("vip_a", "!clip first vip clip", ["vip"]),
        ("sub_b", "!clip a subscriber asks", ["subscriber"]),
        ("vip_c", "!clip second vip clip", ["vip"]),
        ("vip_d", "!clip third vip clip", ["vip"]),
    )
    assert report.by_status == {"enqueued": 4}
    assert report.auto_approved == 2
    approved = jobs(db, channel)
    vips = {"first vip clip", "second vip clip", "third vip clip"}
    titles = {j["requested_title"] for j in approved}
    # the sink's workers write in parallel: any two of the three VIP clips, never the third
    assert len(approved) == 2 and titles < vips
    assert {j["approved_by"] for j in approved} == {"policy vip-clips"}
    assert set(codes(db, channel)) == {"a subscriber asks", *(vips - titles)}
    for job in approved:
        assert wait_for_job(db, job["job_id"]).status is JobStatus.READY
    assert len(creates(sim, channel)) == 2
    policy_items = [ActionQueue(db).require(j["action_id"]) for j in approved]
    assert {(i.decided_by, i.decided_via) for i in policy_items} == {("policy vip-clips", "policy")}
    assert ClipJobStore(db).require(approved[0]["job_id"]).approved_by == "policy vip-clips"
