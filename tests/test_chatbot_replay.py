"""Replay mode: the demo log through the live pipeline, on the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chatbot import demo_log
from chatbot.replay import feed, replay_file, shifted
from chatbot.replay_log import LogLineInvalid, parse_lines, read_log
from local.chat_host import replay_chat_log
from tests.fixtures_chat.synth import line

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "chatbot" / "demo_chat.jsonl"
START = demo_log.START.timestamp()


def test_the_committed_demo_log_is_what_the_script_generates():
    expected = [json.dumps(x, ensure_ascii=False) for x in demo_log.build()]
    assert DEMO.read_text(encoding="utf-8").splitlines() == expected


def items(db) -> list[dict]:
    return [s.to_dict() for s in db.collection("action_queue").stream()]


def test_demo_replay_gives_the_expected_candidates_and_no_duplicates(db, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    report = replay_file(DEMO, db, speed=0)
    # One moment, one candidate: the two `!clip`s land on the clutch and the comeback, so chat's
    # reaction to those moments joins the command's candidate; the fail is chat's alone.
    assert report.drained and report.by_status == {"enqueued": 3}
    payloads = [i["payload"] for i in items(db)]
    assert len(payloads) == 3
    commands = sorted(
        (round(p["source_ts"].timestamp() - START, 3), p["suggested_title"])
        for p in payloads
        if p["source"] == "command"
    )
    lag = 7.0
    expected = [(round(at - lag, 3), title) for at, title in demo_log.EXPECTED["commands"]]
    assert commands == expected
    moments = sorted(p["source_ts"].timestamp() - START for p in payloads)
    for moment_at, (name, truth) in zip(
        moments, sorted(demo_log.MOMENTS.items(), key=lambda kv: kv[1]), strict=True
    ):
        assert truth - 5.0 <= moment_at <= truth + 5.0, (name, moment_at)
    reactions = [p for p in payloads if p["source"] != "command"]
    assert [p["source"] for p in reactions] == ["chat_spike"]
    assert all(0 <= p["score"] <= 1 and p["context_excerpt"] for p in payloads)
    assert all(p["broadcaster_id"] == "12345" and p["mode"] == "live" for p in payloads)
    # the spammer (copypasta_kev) never made a candidate
    assert not any("copypasta_kev" in p["context_excerpt"] for p in payloads)
    assert report.replies == [
        "@orbitwolf25 clip request sent to the streamer: “insane 1v3 clutch”",
        "@orbitstar51 a clip was just requested; try again in 28 s.",
        "@frostbyte95 !clip is open to mods, VIPs and subscribers.",
        "@lumenninja33 clip request sent to the streamer: “what a comeback”",
        "@lumenninja33 you just asked for a clip; try again in 73 s.",
    ]

    again = replay_file(DEMO, db, speed=0)
    assert again.by_status == {"duplicate": 3}
    assert len(items(db)) == 3


def test_replay_cli_exits_when_the_log_ends(firestore_emulator, db, tmp_path):
    log = tmp_path / "chat.jsonl"
    log.write_text(
        "\n".join(
            json.dumps(
                {
                    "ts": f"2026-11-24T20:00:0{i}.000Z",
                    "user_id": str(i),
                    "user": f"u{i}",
                    "text": "!clip cli run",
                    "badges": ["moderator"],
                }
            )
            for i in range(3)
        )
        + "\n"
    )
    done = replay_chat_log(log, firestore_emulator.host, speed=50, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["candidates"] == {"enqueued": 1} and summary["replies"] == 3
    assert [i["payload"]["source"] for i in items(db)] == ["command"]


def test_feed_paces_by_speed():
    lines = [line(0, 1, "a"), line(2, 1, "b"), line(6, 1, "c")]
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds):
        waits.append(round(seconds, 3))
        now[0] += seconds

    fed = []
    feed(lines, fed.append, speed=2.0, sleep=sleep, clock=lambda: now[0])
    assert fed == lines and waits == [1.0, 2.0]
    waits.clear()
    feed(lines, fed.append, speed=0, sleep=sleep, clock=lambda: now[0])
    assert waits == []
    with pytest.raises(ValueError):
        feed(lines, fed.append, speed=-1)


def test_from_now_moves_the_log_without_changing_its_pace():
    lines = [line(0, 1, "a"), line(2.5, 2, "b")]
    moved = shifted(lines, 5_000_000_000.0)
    assert [x.ts for x in moved] == [5_000_000_000.0, 5_000_000_002.5]
    assert [x.text for x in moved] == ["a", "b"] and shifted([], 1.0) == []


def test_real_chat_logs_are_read_as_chat_in_general():
    """Logs taken from real chat keep Twitch's other badges (as names or EventSub objects),
    numeric user ids and UTC times written without an offset: each line still reads."""
    lines = [
        '{"ts": "2026-11-24T20:00:01", "user_id": 42, "user": "a", "text": "hi", '
        '"badges": ["founder", "premium", "staff"]}',
        '{"ts": "2026-11-24T20:00:02.5+00:00", "user_id": "43", "user": "b", "text": "ok", '
        '"badges": [{"set_id": "lead_moderator", "id": "1"}, {"set_id": "turbo"}]}',
        '{"ts": "2026-11-24T20:00:03Z", "user_id": "44", "user": "c", "text": "yo"}',
    ]
    read = list(parse_lines(lines, "777"))
    assert [(x.user_id, x.roles) for x in read] == [
        ("42", frozenset({"subscriber"})),
        ("43", frozenset({"moderator"})),
        ("44", frozenset()),
    ]
    assert [x.ts - read[0].ts for x in read] == [0.0, 1.5, 2.0]
    assert read[0].ts == datetime(2026, 11, 24, 20, 0, 1, tzinfo=UTC).timestamp()


def test_a_log_saved_with_a_byte_order_mark_and_crlf_reads(tmp_path):
    log = tmp_path / "exported.jsonl"
    line = '{"ts": "2026-11-24T20:00:01Z", "user_id": "1", "user": "a", "text": "hi"}'
    log.write_bytes(("\ufeff" + line + "\r\n" + line + "\r\n").encode("utf-8"))
    assert [x.text for x in read_log(log, "777")] == ["hi", "hi"]


def test_log_lines_are_validated_with_their_number():
    good = '{"ts": "2026-11-24T20:00:01.250Z", "user_id": "1", "user": "a", "text": "hi", '
    lines = list(parse_lines([good + '"badges": ["vip"]}', "", good + '"badges": []}'], "777"))
    assert [(x.broadcaster_id, x.roles) for x in lines] == [
        ("777", frozenset({"vip"})),
        ("777", frozenset()),
    ]
    cases = {
        "not json": "line",
        good + '"badges": "vip"}': "badges",
        good + '"badges": [7]}': "badges",
        good.replace("2026-11-24T20:00:01.250Z", "yesterday") + '"badges": []}': "ts",
        good + '"badges": [], "broadcaster_id": "bytestreamer"}': "broadcaster_id",
    }
    for text, field in cases.items():
        with pytest.raises(LogLineInvalid) as error:
            list(parse_lines(["", text], "777"))
        assert error.value.number == 2 and error.value.field == field
    with pytest.raises(LogLineInvalid, match="TWITCH_BROADCASTER_ID"):
        list(parse_lines([good + '"badges": []}'], None))


def test_demo_log_parses_without_an_environment():
    assert len(read_log(DEMO, None)) > 500
