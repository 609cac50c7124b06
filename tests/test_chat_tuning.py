"""Per-channel tuning from viewers' own clips (issue 14): the fit, the feature timeline on the
emulator, and the after-stream job against the Helix simulator, with its one-call revert."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from chatbot.brain import ChatBrain
from chatbot.chat_line import ChatLine
from chatbot.timeline import TimelineWriter
from local.helix_simulator import HelixSimulator
from shared.domain.chat_settings import DEFAULTS, ChatSettings
from shared.domain.chat_tuning import (
    DEFAULT_WEIGHTS,
    ClipSpan,
    TimelineBucket,
    fit_weights,
    viewer_moments,
)
from shared.domain.errors import NotFound
from shared.pipeline.chat_tuning import TOO_FEW, ChatTuner, clip_span
from shared.store.chat_timeline import TIMELINE, ChatTimelineStore, ChatTuningLog
from shared.store.control_plane import ControlPlaneStore
from shared.twitch.helix_clips import HelixClips
from tests.test_chat_detection import CALM, CHANNEL, T0, chatter, crowd, merged
from tests.test_chat_detection import moments as reaction_moments
from tests.test_helix_clips import MemoryTokens

CLIENT_ID = "tuningclient"
CLIENT_SECRET = "tuningclientsecret-xyz"
HOUR = 3600.0
WAVES = [400.0, 900.0, 1400.0, 1900.0, 2400.0, 2900.0, 3350.0]
MOMENTS = [650.0, 1150.0, 1650.0, 2150.0, 2650.0]


def stream() -> list[ChatLine]:
    """An hour of a channel whose viewers clip the moments its chat marks with the channel's
    own meme ("peepoRun" from many chatters), while small-talk waves of many chatters come and
    go: the default weights see the waves first and run out of budget."""
    parts = [chatter(0, HOUR, rate=2.0, regulars=300, seed=41)]
    for index, at in enumerate(WAVES):
        parts.append(crowd(at, CALM, chatters=45, spread=8, seed=50 + index, first_user=1000))
    for index, at in enumerate(MOMENTS):
        parts.append(
            crowd(
                at,
                ["peepoRun", "peepoRun peepoRun"],
                chatters=18,
                spread=8,
                seed=60 + index,
                first_user=1100 + 20 * index,
            )
        )
    return merged(*parts)


def run(lines: Sequence[ChatLine], settings: ChatSettings) -> tuple[list[float], ChatBrain]:
    brain = ChatBrain()
    return [d.moment_ts for d in reaction_moments(lines, settings, brain)], brain


def caught(found: Sequence[float]) -> int:
    return sum(any(-20 <= at - (T0 + m) <= 25 for at in found) for m in MOMENTS)


# ---------------------------------------------------------------------- the fit (pure)


def test_viewer_clips_of_one_moment_are_one_moment_weighted_by_views():
    moments = viewer_moments(
        [ClipSpan(100, 130, 5), ClipSpan(105, 135, 500), ClipSpan(400, 430, 0)]
    )
    assert [(m.start, m.end, m.clips) for m in moments] == [(100, 135, 2), (400, 430, 1)]
    assert moments[0].weight > moments[1].weight


def test_the_fit_moves_weight_to_the_signal_that_marks_the_clipped_moments():
    buckets = []
    for i in range(360):
        ts = T0 + i * 10
        z = (0.5, 0.3, 0.4, 0.0)
        if i % 50 == 10:  # small-talk waves: a big surge, nothing said in common
            z = (10.0, 0.0, 0.5, 0.0)
        if i % 60 == 30:  # the clipped moments: a modest surge, one token everywhere
            z = (4.0, 0.0, 6.0, 0.0)
        buckets.append(TimelineBucket(ts, 30.0, z))
    clips = [ClipSpan(T0 + i * 10 - 25, T0 + i * 10 + 5, 40) for i in range(30, 360, 60)]
    fit = fit_weights(
        buckets,
        clips,
        DEFAULT_WEIGHTS,
        per_hour=4,
        refractory=45,
        min_chatters=5,
        current_threshold=9.0,
    )
    assert fit.changed and fit.caught_after > fit.caught_before
    assert fit.weights["repetition"] > fit.weights["surge"]
    assert fit.caught_after == 4 and fit.moments == 6


def test_a_fit_that_cannot_do_better_changes_nothing():
    buckets = [TimelineBucket(T0 + i * 10, 30.0, (1.0, 1.0, 1.0, 0.0)) for i in range(360)]
    fit = fit_weights(
        buckets, [], DEFAULT_WEIGHTS, per_hour=4, refractory=45, min_chatters=5,
        current_threshold=9.0,
    )  # fmt: skip
    assert not fit.changed and fit.weights == DEFAULT_WEIGHTS and fit.threshold == 9.0


def test_a_clip_is_placed_by_its_vod_offset_or_else_by_when_it_was_made():
    from shared.domain.twitch_models import Clip

    start = datetime.fromtimestamp(T0, tz=UTC)
    made = datetime.fromtimestamp(T0 + 700, tz=UTC)
    with_offset = Clip("a", "u", CHANNEL, created_at=made, duration=30.0, vod_offset=655)
    without = Clip("b", "u", CHANNEL, created_at=made, duration=20.0)
    assert clip_span(with_offset, start) == ClipSpan(T0 + 655, T0 + 685, 0)
    assert clip_span(without, start) == ClipSpan(T0 + 680, T0 + 700, 0)


# ---------------------------------------------------------------------- the timeline


def test_the_timeline_is_compact_bounded_and_expires(db):
    store = ChatTimelineStore(db)
    buckets = [TimelineBucket(T0 + i * 10, 12.0, (1.5, 0.25, 0.0, 3.0)) for i in range(720)]
    writer = TimelineWriter(store)
    writer.add([(CHANNEL, b) for b in buckets])
    writer.flush()
    docs = list(db.collection(TIMELINE).stream())
    assert len(docs) == 2  # two hours, one document each
    for snap in docs:
        data = snap.to_dict()
        assert len(data["b"]) == 360 and data["expire_at"] > data["hour"]
    start = datetime.fromtimestamp(T0 + 600, tz=UTC)
    end = datetime.fromtimestamp(T0 + 1200, tz=UTC)
    read = store.read(CHANNEL, start, end)
    assert [b.ts for b in read] == [T0 + 600 + i * 10 for i in range(61)]
    assert read[0] == TimelineBucket(T0 + 600, 12.0, (1.5, 0.25, 0.0, 3.0))
    with pytest.raises(ValueError, match="48 hours"):
        store.read(CHANNEL, start, datetime.fromtimestamp(T0 + 3 * 86400, tz=UTC))


# ---------------------------------------------------------------------- the job


@pytest.fixture
def helix() -> Iterator[tuple[HelixSimulator, HelixClips, MemoryTokens]]:
    with HelixSimulator(clock=lambda: T0 + 2 * HOUR) as sim:
        sim.add_app(CLIENT_ID, CLIENT_SECRET)
        sim.add_user(CHANNEL, "streamer", client_id=CLIENT_ID, scopes=())
        sim.start_broadcast(CHANNEL, started_ago=2 * HOUR)
        client = HelixClips(CLIENT_ID, api_base=sim.api_base, auth_base=sim.auth_base)
        yield sim, client, MemoryTokens(sim.add_app_token(CLIENT_ID))
        client.close()


def test_after_the_stream_the_tuned_settings_catch_what_viewers_clipped_and_revert_undoes_it(
    db, helix
):
    sim, client, tokens = helix
    chat = stream()
    found, brain = run(chat, DEFAULTS)
    before = caught(found)
    assert before <= 2, "the default settings miss most clipped moments of this channel"
    ChatTimelineStore(db).append(CHANNEL, (b for _, b in brain.take_timeline()))
    sim.add_viewer_clips(CHANNEL, [T0 + m for m in MOMENTS], seed=7)

    control = ControlPlaneStore(db)
    tuner = ChatTuner(ChatTimelineStore(db), ChatTuningLog(db), control, client)
    started = datetime.fromtimestamp(T0, tz=UTC)
    ended = datetime.fromtimestamp(T0 + HOUR, tz=UTC)
    record = tuner.tune(tokens, CHANNEL, started, ended)
    assert record.changed and record.moments == len(MOMENTS) and record.clips >= len(MOMENTS)
    assert record.caught_after > record.caught_before

    tuned = control.read(fresh=True).chat
    assert tuned.signal_weights == record.values["chat.signal_weights"]
    assert tuned.signal_weights["repetition"] > DEFAULTS.signal_weights["repetition"]
    audit = control.history()[0]
    assert audit["by"].startswith("chat tuning") and "viewers' clips" in audit["by"]
    assert audit["before"]["chat.signal_weights"] == DEFAULTS.signal_weights

    found, _ = run(chat, tuned)
    assert caught(found) >= before + 2, "replayed with the tuned settings, the moments are found"

    restored = tuner.revert(CHANNEL, by="ops@example.com")
    assert restored.chat.signal_weights == DEFAULTS.signal_weights
    assert restored.chat.score_threshold == DEFAULTS.score_threshold
    latest = ChatTuningLog(db).latest(CHANNEL)
    assert latest is not None and latest.reverted_by == "ops@example.com"
    assert control.history()[0]["by"] == "ops@example.com"
    with pytest.raises(NotFound):
        tuner.revert(CHANNEL, by="ops@example.com")


def test_a_stream_nobody_clipped_changes_nothing(db, helix):
    _, client, tokens = helix
    _, brain = run(stream(), DEFAULTS)
    ChatTimelineStore(db).append(CHANNEL, (b for _, b in brain.take_timeline()))
    control = ControlPlaneStore(db)
    tuner = ChatTuner(ChatTimelineStore(db), ChatTuningLog(db), control, client)
    started = datetime.fromtimestamp(T0, tz=UTC)
    record = tuner.tune(tokens, CHANNEL, started, datetime.fromtimestamp(T0 + HOUR, tz=UTC))
    assert not record.changed and record.clips == 0 and record.note == TOO_FEW
    assert control.history() == []
    with pytest.raises(NotFound):
        tuner.revert(CHANNEL, by="ops@example.com")
