"""Get Streams and Get Videos (type=archive) over real HTTP against the simulator
(docs/architecture.md §6.1).

What the moment planner needs: is the channel live, since when, and which archive records
the broadcast, including archives that appear late, finished ones and channels without any.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shared.domain.errors import ClipNotFound, ClipUnknown, InvalidInput
from shared.domain.twitch_models import CreatedClip, Stream, Video, video_duration_seconds
from tests.test_helix_clips import BROADCASTER, EDITOR, T0, FakeTime, World, opened_world

STREAMS = ("GET", "/helix/streams")
VIDEOS = ("GET", "/helix/videos")


@pytest.fixture
def world() -> Iterator[World]:
    with opened_world(FakeTime()) as built:
        built.sim.set_live(BROADCASTER, False)
        yield built


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def clip_a_minute_in(world: World, vod_id: str, title: str) -> CreatedClip:
    """The broadcaster clips 30 s of the archive, one minute in."""
    return world.client.create_clip_from_vod(
        world.tokens(),
        editor_id=BROADCASTER,
        broadcaster_id=BROADCASTER,
        vod_id=vod_id,
        vod_offset=60,
        title=title,
        duration=30,
    )


def test_offline_channel_has_no_stream(world: World) -> None:
    assert world.client.get_streams(world.tokens(), BROADCASTER) is None
    [call] = world.sim.calls
    assert (call.method, call.path, call.query) == (*STREAMS, {"user_id": [BROADCASTER]})


def test_live_stream_has_its_id_and_start(world: World) -> None:
    stream_id, _ = world.sim.start_broadcast(BROADCASTER, started_ago=3600, stream_id="8888")
    stream = world.client.get_streams(world.tokens(), BROADCASTER)
    assert stream == Stream(id="8888", user_id=BROADCASTER, type="live", started_at=at(T0 - 3600))
    assert stream_id == "8888"


def test_archive_in_progress_carries_the_stream_id_and_grows(world: World) -> None:
    _, vod_id = world.sim.start_broadcast(BROADCASTER, started_ago=600, stream_id="8888")
    [archive] = [
        v for v in world.client.get_archive_videos(world.tokens(), BROADCASTER) if v.id == vod_id
    ]
    assert (archive.stream_id, archive.type, archive.user_id) == ("8888", "archive", BROADCASTER)
    assert archive.created_at == at(T0 - 600)
    assert (archive.duration, archive.duration_seconds) == ("10m0s", 600.0)
    world.time.now += 65
    [later] = [
        v for v in world.client.get_archive_videos(world.tokens(), BROADCASTER) if v.id == vod_id
    ]
    assert later.duration == "11m5s"
    assert world.sim.calls[-1].query == {
        "user_id": [BROADCASTER],
        "type": ["archive"],
        "first": ["20"],
    }


def test_ending_the_stream_finishes_its_archive(world: World) -> None:
    _, vod_id = world.sim.start_broadcast(BROADCASTER, started_ago=100)
    world.sim.set_live(BROADCASTER, False)
    world.time.now += 500
    assert world.client.get_streams(world.tokens(), BROADCASTER) is None
    [archive] = [
        v for v in world.client.get_archive_videos(world.tokens(), BROADCASTER) if v.id == vod_id
    ]
    assert archive.duration_seconds == 100


def test_archive_appears_a_little_after_the_stream_starts(world: World) -> None:
    _, vod_id = world.sim.start_broadcast(BROADCASTER, started_ago=10, archive_after=45)
    tokens = world.tokens()
    assert world.client.get_streams(tokens, BROADCASTER) is not None
    assert vod_id not in {v.id for v in world.client.get_archive_videos(tokens, BROADCASTER)}
    world.time.now += 35
    [archive] = [v for v in world.client.get_archive_videos(tokens, BROADCASTER) if v.id == vod_id]
    assert archive.created_at == at(T0 - 10)


def test_an_unlisted_archive_cannot_be_clipped_yet(world: World) -> None:
    _, vod_id = world.sim.start_broadcast(BROADCASTER, started_ago=120, archive_after=200)
    with pytest.raises(ClipNotFound):
        clip_a_minute_in(world, vod_id or "", "too soon")
    world.time.now += 100
    assert clip_a_minute_in(world, vod_id or "", "now it is there").id


def test_past_archives_are_listed_newest_first_with_their_duration(world: World) -> None:
    world.sim.add_vod("920001", BROADCASTER, duration_seconds=11313, stream_id="1", ended_ago=86400)
    world.sim.add_vod("920002", BROADCASTER, duration_seconds=3600, stream_id="2", ended_ago=600)
    videos = world.client.get_archive_videos(world.tokens(), BROADCASTER, first=100)
    ours = [v for v in videos if v.id in {"920001", "920002"}]
    assert [v.id for v in ours] == ["920002", "920001"]
    assert ours[1].duration == "3h8m33s" and ours[1].duration_seconds == 11313
    assert ours[0].created_at == at(T0 - 600 - 3600)
    assert all(isinstance(v, Video) for v in videos)


def test_channel_with_archives_disabled_gets_none(world: World) -> None:
    world.sim.configure_channel(BROADCASTER, archives_disabled=True)
    stream_id, vod_id = world.sim.start_broadcast(BROADCASTER, started_ago=900)
    assert vod_id is None
    videos = world.client.get_archive_videos(world.tokens(), BROADCASTER)
    assert stream_id not in {v.stream_id for v in videos}


def test_bad_arguments_are_refused_before_any_http(world: World) -> None:
    tokens = world.tokens()
    with pytest.raises(InvalidInput) as streams:
        world.client.get_streams(tokens, "streamer")
    assert streams.value.fields == ["user_id"]
    with pytest.raises(InvalidInput) as videos:
        world.client.get_archive_videos(tokens, "", first=101)
    assert set(videos.value.fields) == {"user_id", "first"}
    assert world.sim.calls == []


def test_server_errors_get_three_tries_then_unknown(world: World) -> None:
    world.sim.inject_fault("GET /helix/streams", "status", status=503, times=3)
    with pytest.raises(ClipUnknown):
        world.client.get_streams(world.tokens(), BROADCASTER)
    assert world.count(STREAMS) == 3
    assert world.time.sleeps == [1.0, 2.0]


def test_another_users_token_may_read_the_stream(world: World) -> None:
    world.sim.start_broadcast(BROADCASTER, started_ago=5)
    reader = world.tokens()
    reader.current = world.editor_access
    stream = world.client.get_streams(reader, BROADCASTER)
    assert stream is not None and stream.user_id == BROADCASTER
    assert world.sim.calls[-1].user_id == EDITOR


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3h8m33s", 11313), ("45s", 45), ("2m", 120), ("1h0m0s", 3600), ("", None), ("1:00", None)],
)
def test_video_durations_read_like_twitch_writes_them(text: str, seconds: float | None) -> None:
    assert video_duration_seconds(text) == seconds
