"""Control plane: defaults, validation (pure) and the store with its cache and audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.control_plane import ControlPlaneConfig, apply_changes, load_config
from shared.domain.errors import ConfigInvalid
from shared.store.control_plane import COLLECTION, DOC, ControlPlaneStore

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def test_defaults_when_nothing_is_stored():
    config = load_config(None)
    assert config.clip_pipeline_enabled is True
    assert config.clip_api_enabled is True
    assert config.clip_mode_default == "live"
    assert config.clip_editor_user_id is None
    assert config.dedupe_window_seconds == 30


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"clip_mode_default": "clips"}, "clip_mode_default"),
        ({"clip_api_enabled": "no"}, "clip_api_enabled"),
        ({"clip_editor_user_id": "some_login"}, "clip_editor_user_id"),
        ({"clip_default_duration": 61}, "clip_default_duration"),
        ({"dedupe_window_seconds": 0}, "dedupe_window_seconds"),
        ({"max_manual_retries": -1}, "max_manual_retries"),
        ({"no_such_flag": True}, "no_such_flag"),
        ({"updated_by": "me"}, "updated_by"),
    ],
)
def test_bad_changes_name_the_field(changes, field):
    with pytest.raises(ConfigInvalid) as caught:
        apply_changes(ControlPlaneConfig(), changes, by="op", now=NOW)
    assert caught.value.fields == [field]


def test_change_needs_an_author():
    with pytest.raises(ConfigInvalid, match="updated_by"):
        apply_changes(ControlPlaneConfig(), {"clip_api_enabled": False}, by=" ", now=NOW)


def test_store_reads_defaults_then_persists_changes_with_history(db):
    store = ControlPlaneStore(db)
    assert store.read() == ControlPlaneConfig()
    updated = store.write({"clip_api_enabled": False}, by="op@example.com", now=NOW)
    assert updated.clip_api_enabled is False
    fresh = ControlPlaneStore(db).read()
    assert fresh.clip_api_enabled is False
    assert fresh.updated_by == "op@example.com"
    assert fresh.updated_at == NOW
    history = store.history()
    assert len(history) == 1
    assert history[0]["changes"] == {"clip_api_enabled": False}
    assert history[0]["before"] == {"clip_api_enabled": True}
    assert history[0]["by"] == "op@example.com"


def test_refused_change_writes_nothing(db):
    store = ControlPlaneStore(db)
    with pytest.raises(ConfigInvalid):
        store.write({"clip_mode_default": "nope"}, by="op", now=NOW)
    assert not db.collection(COLLECTION).document(DOC).get().exists
    assert store.history() == []


def test_cache_is_short_and_fresh_bypasses_it(db):
    ticks = [100.0]
    reader = ControlPlaneStore(db, cache_seconds=5, clock=lambda: ticks[0])
    assert reader.read().clip_pipeline_enabled is True
    ControlPlaneStore(db).write({"clip_pipeline_enabled": False}, by="op", now=NOW)
    ticks[0] += 4
    assert reader.read().clip_pipeline_enabled is True
    assert reader.read(fresh=True).clip_pipeline_enabled is False
    ticks[0] += 1
    ControlPlaneStore(db).write({"clip_pipeline_enabled": True}, by="op", now=NOW)
    ticks[0] += 5
    assert reader.read().clip_pipeline_enabled is True


def test_stored_garbage_is_reported(db):
    db.collection(COLLECTION).document(DOC).set({"clip_mode_default": 7})
    with pytest.raises(ConfigInvalid, match="clip_mode_default"):
        ControlPlaneStore(db).read()


def test_a_flag_change_keeps_other_readers_settings(db):
    db.collection(COLLECTION).document(DOC).set({"chat": {"spike_multiplier": 4.0}})
    ControlPlaneStore(db).write({"clip_api_enabled": False}, by="op", now=NOW)
    stored = db.collection(COLLECTION).document(DOC).get().to_dict()
    assert stored["chat"] == {"spike_multiplier": 4.0}
    assert stored["clip_api_enabled"] is False
