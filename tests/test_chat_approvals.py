"""Mods decide in chat: `!approve` / `!reject` parsing and roles (pure), decisions through the
app's approval on the emulator, and candidate announcements claimed once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from chatbot.approval_commands import (
    ApprovalGate,
    announcement,
    parse_approval_command,
)
from chatbot.candidate_announcer import CandidateAnnouncer
from chatbot.chat_line import ChatLine
from chatbot.control import LiveConfig, StaticConfig
from chatbot.decisions import ChatDecisions
from chatbot.outbox import LogOutbox
from chatbot.runtime import ChatRuntime
from chatbot.sink import CandidateSink
from shared.domain.approval_codes import shown_codes
from shared.domain.approval_settings import ApprovalSettings
from shared.domain.control_plane import ControlPlaneConfig
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.queue_feed import QueueFeed
from tests.factories import live_fields

CHANNEL = "12345"
DEFAULTS = ApprovalSettings()


def chat(user: str, text: str, *roles: str, at: float = 0.0) -> ChatLine:
    return ChatLine(
        ts=1_800_000_000.0 + at,
        broadcaster_id=CHANNEL,
        user_id=f"id-{user}",
        user=user.capitalize(),
        text=text,
        roles=frozenset(roles),
        login=user,
    )


# --- pure -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verb", "code", "rest"),
    [
        ("!approve", "approve", None, None),
        ("!approve K7", "approve", "K7", None),
        (
            "!APPROVE k7m Boss one-shots the streamer",
            "approve",
            "K7M",
            "Boss one-shots the streamer",
        ),
        ("!approve Boss fight", "approve", None, "Boss fight"),
        ("!reject K7 not funny", "reject", "K7", "not funny"),
        ("!reject", "reject", None, None),
    ],
)
def test_commands_are_parsed(text, verb, code, rest):
    command = parse_approval_command(text)
    assert command is not None
    assert (command.verb, command.code, command.text) == (verb, code, rest)


@pytest.mark.parametrize("text", ["!clip", "approve K7", "!approved", "hello !approve", ""])
def test_other_messages_are_not_commands(text):
    assert parse_approval_command(text) is None


def test_mods_and_the_broadcaster_may_decide_and_a_viewer_is_told_once_per_cooldown():
    gate = ApprovalGate()
    command = parse_approval_command("!approve K7")
    assert command is not None
    mod = gate.handle(chat("modone", "!approve K7", "moderator"), command, DEFAULTS, "modone")
    assert mod.request is not None and mod.request.login == "modone" and mod.reply is None
    boss = gate.handle(chat("streamer", "!approve K7", "broadcaster"), command, DEFAULTS, "x")
    assert boss.request is not None
    first = gate.handle(chat("viewer", "!approve K7", "subscriber"), command, DEFAULTS, "viewer")
    assert first.request is None
    assert first.reply == "@Viewer only the streamer and mods can approve or reject clips."
    again = gate.handle(chat("viewer", "!approve", at=100), command, DEFAULTS, "viewer")
    assert again == type(again)()
    later = gate.handle(chat("viewer", "!approve", at=301), command, DEFAULTS, "viewer")
    assert later.reply is not None and later.request is None
    vips = ApprovalSettings(chat_roles=("moderator", "vip"))
    assert gate.handle(chat("v", "!approve", "vip"), command, vips, "v").request is not None


def test_announcement_is_one_short_line_with_the_code_and_a_clean_title():
    text = announcement("K7", "Boss one-shots the streamer", "command", DEFAULTS)
    assert text == "Clip? K7 “Boss one-shots the streamer” — mods: !approve K7"
    hostile = announcement("K7", "see evil.com [x](http://a.b) @everyone", "command", DEFAULTS)
    assert "evil.com" not in hostile and "](" not in hostile
    assert announcement("Q3", None, "chat_spike", DEFAULTS) == (
        "Clip? Q3 (chat spike) — mods: !approve Q3"
    )


# --- on the emulator ------------------------------------------------------------------------


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


class Chat:
    """A runtime with the decision worker, on a fixed config, replies collected."""

    def __init__(self, db, config: ControlPlaneConfig | None = None) -> None:
        self.queue, self.jobs = ActionQueue(db), ClipJobStore(db)
        source = StaticConfig(LiveConfig(clips=config or ControlPlaneConfig()))
        self.sink = CandidateSink(self.queue, source)
        self.outbox = LogOutbox()
        self.decisions = ChatDecisions(
            self.queue, self.jobs, QueueFeed(db), self.outbox, settle=self.sink.drain
        )
        self.runtime = ChatRuntime(source, self.sink, self.outbox, decisions=self.decisions)

    def say(self, line: ChatLine) -> list[str]:
        before = len(self.outbox.sent)
        self.runtime.handle(line)
        assert self.decisions.drain(20)
        return self.outbox.sent[before:]


def pending(db, **fields) -> tuple[str, str]:
    """Enqueue a candidate; its action id and the code chat sees for it."""
    queue = ActionQueue(db)
    action_id = queue.submit(live_fields(**fields)).action_id
    ids = [i.action_id for i in queue.list_pending() if i.payload.broadcaster_id == CHANNEL]
    return action_id, shown_codes(ids)[action_id]


def jobs_of(db) -> list[dict]:
    return [s.to_dict() or {} for s in db.collection("clip_jobs").stream()]


def test_a_mods_approve_with_a_code_creates_exactly_one_job(db):
    room = Chat(db)
    action_id, code = pending(db, suggested_title="Boss one-shots the streamer")
    replies = room.say(chat("modone", f"!approve {code}", "moderator"))
    assert replies == [
        f"@Modone approved {code} “Boss one-shots the streamer”: the clip is on its way."
    ]
    [job] = jobs_of(db)
    assert job["action_id"] == action_id and job["approved_by"] == "modone"
    item = room.queue.require(action_id)
    assert (item.decided_by, item.decided_via) == ("modone", "chat")


def test_a_viewers_approve_does_nothing(db):
    room = Chat(db)
    action_id, code = pending(db)
    replies = room.say(chat("viewer", f"!approve {code}", "subscriber"))
    assert replies == ["@Viewer only the streamer and mods can approve or reject clips."]
    assert room.say(chat("viewer", f"!approve {code}", at=5)) == []
    assert jobs_of(db) == []
    assert room.queue.require(action_id).status.value == "pending_approval"


def test_two_mods_approving_the_same_code_make_one_job_and_the_second_hears_who_was_first(db):
    room = Chat(db)
    _, code = pending(db, suggested_title="Clutch")
    room.runtime.handle(chat("modone", f"!approve {code}", "moderator"))
    room.runtime.handle(chat("modtwo", f"!approve {code}", "moderator", at=0.5))
    assert room.decisions.drain(20)
    assert len(jobs_of(db)) == 1
    assert room.outbox.sent[1] == f"@Modtwo {code} was already approved by modone."


def test_no_code_means_the_newest_and_a_title_edit_is_applied(db):
    room = Chat(db)
    older, _ = pending(db, suggested_title="older", source_ts="2026-11-24T20:00:01Z")
    newest, code = pending(db, suggested_title="newest", source_ts="2026-11-24T20:05:01Z")
    replies = room.say(chat("modone", "!approve Better title", "moderator"))
    assert replies == [f"@Modone approved {code} “Better title”: the clip is on its way."]
    [job] = jobs_of(db)
    assert job["action_id"] == newest and job["requested_title"] == "Better title"
    assert room.queue.require(older).status.value == "pending_approval"


def test_reject_in_chat_records_who_and_why(db):
    room = Chat(db)
    action_id, code = pending(db, suggested_title="meh")
    replies = room.say(chat("modone", f"!reject {code} not funny", "moderator"))
    assert replies == [f"@Modone rejected {code} “meh”: no clip will be made."]
    item = room.queue.require(action_id)
    assert (item.status.value, item.decided_by, item.decided_via, item.decision_reason) == (
        "rejected",
        "modone",
        "chat",
        "not funny",
    )
    assert room.say(chat("modtwo", f"!approve {code}", "moderator")) == [
        f"@Modtwo {code} was already rejected by modone."
    ]
    assert jobs_of(db) == []


def test_unknown_code_and_empty_queue_are_answered(db):
    room = Chat(db)
    assert room.say(chat("modone", "!approve", "moderator")) == [
        "@Modone no clip candidate is waiting."
    ]
    assert room.say(chat("modone", "!approve Z9", "moderator")) == [
        "@Modone no clip candidate Z9 is waiting."
    ]


def announcer_config(**approval) -> StaticConfig:
    settings = ApprovalSettings.model_validate({"announce_sources": ["command"]} | approval)
    return StaticConfig(LiveConfig(clips=ControlPlaneConfig(approval=settings)))


def test_new_candidates_are_announced_once_across_two_bots_and_old_ones_never(db):
    posted: list[str] = []
    config = announcer_config()
    bots = [
        CandidateAnnouncer(
            QueueFeed(db),
            broadcaster_id=CHANNEL,
            post=posted.append,
            config=config,
            instance=f"bot-{n}",
        ).start()
        for n in range(2)
    ]
    try:
        fresh = (datetime.now(UTC) - timedelta(seconds=8)).isoformat()
        old = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        action_id, code = pending(db, source="command", source_ts=fresh, suggested_title="Ace")
        pending(db, source="command", source_ts=old, suggested_title="Too late")
        pending(db, source="chat_spike", source_ts=fresh, suggested_title="Not this source")
        wait_until(lambda: len(posted) >= 1)
        time.sleep(1.0)
    finally:
        for bot in bots:
            bot.stop()
    assert posted == [f"Clip? {code} “Ace” — mods: !approve {code}"]
    marker = db.document(f"action_queue/{action_id}/chat_announcements/candidate").get()
    assert marker.exists


def test_announcements_are_off_by_default(db):
    posted: list[str] = []
    config = StaticConfig(LiveConfig())
    bot = CandidateAnnouncer(
        QueueFeed(db), broadcaster_id=CHANNEL, post=posted.append, config=config, instance="b"
    ).start()
    try:
        pending(db, source="command", source_ts=(datetime.now(UTC)).isoformat())
        time.sleep(1.0)
    finally:
        bot.stop()
    assert posted == []
