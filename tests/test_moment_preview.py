"""The Queue page's "approving now makes …" line, from the worker's own moment plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.clip_candidate import new_candidate
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.moment_plan import Archive, StreamState
from streamlit_app.moment_preview import StreamLookup, plan_preview
from tests.factories import live_fields, vod_fields

NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
STARTED = NOW - timedelta(hours=1)
LIVE = StreamLookup(StreamState(True, "5", STARTED, (Archive("900001", STARTED, "5"),)))


def candidate(age: float):
    return new_candidate(live_fields(source_ts=(NOW - timedelta(seconds=age)).isoformat()))


@pytest.mark.parametrize(
    ("age", "duration", "label", "level"),
    [
        (5, 30, "live 30 s", "ok"),
        (40, 30, "live extended to 52 s", "changed"),
        (40, 60, "live 60 s", "ok"),
        (200, 30, "VOD at 0:56:40", "changed"),
    ],
)
def test_preview_follows_the_plan_and_the_duration_being_edited(age, duration, label, level):
    preview = plan_preview(
        candidate(age), duration=duration, now=NOW, lookup=LIVE, config=ControlPlaneConfig()
    )
    assert preview is not None
    assert (preview.label, preview.level) == (label, level)
    assert preview.reason


def test_preview_uses_the_control_planes_rolls():
    config = ControlPlaneConfig(clip_pre_roll_seconds=20.0)
    preview = plan_preview(candidate(20), duration=30, now=NOW, lookup=LIVE, config=config)
    assert preview is not None and preview.label == "live extended to 42 s"


def test_offline_without_archive_says_nothing_can_be_made():
    offline = StreamLookup(StreamState(False))
    preview = plan_preview(
        candidate(5), duration=30, now=NOW, lookup=offline, config=ControlPlaneConfig()
    )
    assert preview is not None and preview.level == "impossible"
    assert preview.label.startswith("cannot contain the moment: the channel is not live")


def test_unknown_stream_state_says_why():
    unknown = StreamLookup(None, "TWITCH_CLIENT_ID is not set, so the app cannot ask Twitch.")
    preview = plan_preview(
        candidate(12), duration=30, now=NOW, lookup=unknown, config=ControlPlaneConfig()
    )
    assert preview is not None
    assert (preview.level, preview.age) == ("unknown", "12 s")
    assert preview.reason.startswith("TWITCH_CLIENT_ID is not set")


def test_a_vod_candidate_has_no_preview():
    vod = new_candidate(vod_fields())
    assert plan_preview(vod, duration=30, now=NOW, lookup=LIVE, config=ControlPlaneConfig()) is None
