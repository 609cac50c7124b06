"""The Health page's vision section: calls, drops, latency, cost, and the last scene shown as
plain text (model text is untrusted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.store.control_plane import ControlPlaneStore
from tests import test_streamlit_app as app_tests
from tests.test_streamlit_app import HEALTH, page_text
from tests.test_vision_ingest import VICTORY, frame_request, make_ingest

open_app = app_tests.open_app  # the logged-in AppTest fixture of the app's tests


def test_health_shows_vision_calls_drops_cost_and_the_last_scene_as_plain_text(open_app, db):
    ControlPlaneStore(db).write(
        {"vision": {"frames_per_minute": 1, "price_per_call_usd": 0.002}}, by="Ann"
    )
    now = datetime.now(UTC)
    ingest = make_ingest(db, now=lambda: now)
    hostile = VICTORY | {"summary": "[click me](https://evil.example/x) **bold** <b>b</b>"}
    captured = now - timedelta(seconds=1)
    assert ingest.handle(frame_request(hostile, captured=captured)).status == 200
    assert ingest.handle(frame_request(hostile, captured=captured)).status == 429
    at = open_app(HEALTH)
    text = page_text(at)
    assert "Vision (OBS frames)" in text
    assert "Model calls this hour: 1" in text and "Candidates this hour: 1" in text
    assert "Est. cost this hour: 0.002 USD" in text
    assert "Model latency p50 / p95: ≤ 0.25 s / ≤ 0.25 s" in text
    assert "Drops this hour: rate_limited 1" in text
    shown = "\n".join(str(element.value) for element in at.text)
    assert "Demo Arena" in shown and "victory (0.95)" in shown and "bold" in shown
    markdown = "\n".join(str(m.value) for m in at.markdown) + "\n".join(
        str(c.value) for c in at.caption
    )
    assert "evil" not in markdown and "click me" not in markdown


def test_health_without_frames_points_to_the_obs_script(open_app):
    assert "set up the OBS script" in page_text(open_app(HEALTH))
