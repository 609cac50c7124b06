"""The Control plane page shows the after-stream chat tuning (when, from how many viewers'
clips, what it set) and reverts it with one click (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.chat_settings import DEFAULTS
from shared.store.chat_timeline import ChatTuningLog, TuningRecord
from shared.store.control_plane import ControlPlaneStore
from tests.test_streamlit_app import CONTROL, OPERATOR, open_app, page_text

__all__ = ["open_app"]  # the fixture, used by name

TUNED = {"surge": 0.5, "reactions": 1.1, "repetition": 1.1, "clip_calls": 0.7}


def tuned(db, *, changed: bool = True) -> None:
    now = datetime.now(UTC)
    before = {"chat.signal_weights": DEFAULTS.signal_weights, "chat.score_threshold": 9.0}
    values = {"chat.signal_weights": TUNED, "chat.score_threshold": 5.0}
    if changed:
        ControlPlaneStore(db).write(values, by="chat tuning (7 viewers' clips)", now=now)
    ChatTuningLog(db).save(
        TuningRecord(
            broadcaster_id="12345",
            at=now - timedelta(minutes=3),
            by="chat tuning",
            stream_started_at=now - timedelta(hours=3),
            stream_ended_at=now - timedelta(hours=1),
            clips=7,
            moments=5 if changed else 2,
            caught_before=1,
            caught_after=4,
            changed=changed,
            values=values if changed else {},
            before=before,
            note="" if changed else "Only {moments} clipped moments: {needed} are needed to tune.",
        )
    )


def test_the_page_shows_the_tuning_and_reverts_it_in_one_click(open_app, db):
    tuned(db)
    at = open_app(CONTROL)
    text = page_text(at)
    assert "Chat tuning from viewers' clips" in text
    assert "from 7 viewers' clips (5 moments)" in text
    assert "They catch 4 of the clipped moments, the previous values 1." in text
    at.button(key="cp_revert_tuning_12345").click().run()
    config = ControlPlaneStore(db).read(fresh=True)
    assert config.chat.signal_weights == DEFAULTS.signal_weights
    assert config.chat.score_threshold == 9.0 and config.updated_by == OPERATOR
    record = ChatTuningLog(db).latest("12345")
    assert record is not None and record.reverted_by == OPERATOR
    assert "Reverted by" in page_text(at.run())
    assert not [b for b in at.button if b.key == "cp_revert_tuning_12345"]


def test_a_run_that_changed_nothing_says_why_and_offers_no_revert(open_app, db):
    tuned(db, changed=False)
    at = open_app(CONTROL)
    assert "Only 2 clipped moments: 3 are needed to tune." in page_text(at)
    assert not [b for b in at.button if b.key == "cp_revert_tuning_12345"]
