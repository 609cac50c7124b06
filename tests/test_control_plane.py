"""Control plane: defaults, validation (pure) and the store with its cache and audit trail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.chat_settings import ChatSettings
from shared.domain.control_plane import ControlPlaneConfig, apply_changes, load_config, read_config
from shared.domain.errors import ConfigInvalid
from shared.store.control_plane import COLLECTION, DOC, ControlPlaneStore

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
LATER, LATEST = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)


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


def test_chat_settings_are_part_of_the_config_and_fall_back_one_by_one():
    loaded = read_config(
        {"clip_mode_default": "vod", "chat": {"spike_multiplier": 4, "per_chatter_cap": "x"}}
    )
    assert loaded.config.clip_mode_default == "vod"
    assert loaded.config.chat.spike_multiplier == 4.0
    assert loaded.config.chat.per_chatter_cap == ChatSettings().per_chatter_cap
    assert [p.field for p in loaded.fallbacks] == ["chat.per_chatter_cap"]
    assert load_config(None).chat == ChatSettings()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"chat.spike_multiplier": 0.1}, ["chat.spike_multiplier"]),
        ({"chat.keywords": {"two words": 1}}, ["chat.keywords"]),
        ({"chat.clip_command_roles": []}, ["chat.clip_command_roles"]),
        ({"chat.no_such_setting": 1}, ["chat.no_such_setting"]),
        ({"chat": {"spike_multiplier": 4}}, ["chat"]),
        (
            {"clip_mode_default": "clips", "chat.per_chatter_cap": 0},
            ["clip_mode_default", "chat.per_chatter_cap"],
        ),
    ],
)
def test_bad_chat_changes_name_the_setting(changes, fields):
    with pytest.raises(ConfigInvalid) as caught:
        apply_changes(ControlPlaneConfig(), changes, by="op", now=NOW)
    assert caught.value.fields == fields


def test_a_chat_change_is_saved_merged_and_audited(db):
    store = ControlPlaneStore(db)
    store.write({"clip_api_enabled": False}, by="ann", now=NOW)
    store.write({"chat.keywords": {"POG": 2, "kekw": 1}}, by="ben", now=LATER)
    updated = store.write(
        {"chat.spike_multiplier": 4.5, "chat.keywords": ["pog"]}, by="cy", now=LATEST
    )
    assert (updated.chat.spike_multiplier, updated.chat.keywords) == (4.5, {"pog": 1.0})
    stored = db.collection(COLLECTION).document(DOC).get().to_dict()
    assert stored["chat"] == {"spike_multiplier": 4.5, "keywords": {"pog": 1.0}}
    assert (stored["clip_api_enabled"], stored["updated_by"]) == (False, "cy")
    fresh = ControlPlaneStore(db).read()
    assert fresh.chat == updated.chat and fresh.clip_api_enabled is False
    latest = store.history()[0]
    assert latest["by"] == "cy" and latest["at"] == LATEST
    assert latest["changes"] == {"chat.spike_multiplier": 4.5, "chat.keywords": {"pog": 1.0}}
    assert latest["before"] == {
        "chat.spike_multiplier": 3.0,
        "chat.keywords": {"pog": 2.0, "kekw": 1.0},
    }


def test_a_refused_chat_change_writes_nothing(db):
    store = ControlPlaneStore(db)
    with pytest.raises(ConfigInvalid, match=r"chat\.llm_timeout_seconds"):
        store.write({"chat.llm_timeout_seconds": 99}, by="op", now=NOW)
    assert not db.collection(COLLECTION).document(DOC).get().exists
    assert store.history() == []


def test_the_listener_delivers_parsed_configs_and_refusals(db):
    seen: list = []
    done = threading.Event()

    def on_config(loaded):
        seen.append(loaded)
        done.set()

    def on_invalid(error):
        seen.append(error)
        done.set()

    ref = db.collection(COLLECTION).document(DOC)
    ref.set({"chat": {"spike_multiplier": 6, "warmup_seconds": -1}})
    watch = ControlPlaneStore(db).watch(on_config, on_invalid)
    try:
        assert done.wait(10)
        done.clear()
        ref.set({"clip_mode_default": 7})
        assert done.wait(10)
    finally:
        watch.unsubscribe()
    first, second = seen[0], seen[-1]
    assert first.config.chat.spike_multiplier == 6.0
    assert [p.field for p in first.fallbacks] == ["chat.warmup_seconds"]
    assert isinstance(second, ConfigInvalid) and second.fields == ["clip_mode_default"]


def test_a_chat_save_repairs_a_chat_entry_that_is_not_a_map(db):
    db.collection(COLLECTION).document(DOC).set({"chat": "garbage"})
    assert read_config({"chat": "garbage"}).fallbacks[0].field == "chat"
    ControlPlaneStore(db).write({"chat.per_chatter_cap": 3}, by="op", now=NOW)
    stored = db.collection(COLLECTION).document(DOC).get().to_dict()
    assert stored["chat"] == {"per_chatter_cap": 3}
