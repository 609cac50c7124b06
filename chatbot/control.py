"""The control plane as the bot sees it, kept current by a Firestore listener (no restarts).

`control_plane/config` holds the shared flags (`clip_pipeline_enabled`,
`clip_mode_default`, `dedupe_window_seconds`, ...) read with
`shared.domain.control_plane.load_config`, and the bot's own `chat` map read with
`shared.domain.chat_settings`. `on_snapshot` delivers every change within about a second;
the detectors read `current()` on every message, so a new threshold applies to the next
message. A document that fails validation keeps the last good values, and says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from google.cloud import firestore

from shared.domain.chat_settings import DEFAULTS, ChatSettings, load_chat_settings
from shared.domain.control_plane import ControlPlaneConfig, load_config
from shared.domain.errors import ConfigInvalid, FieldProblem
from shared.store.control_plane import COLLECTION, DOC, ControlPlaneStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveConfig:
    """The shared flags and the chat settings in force, with what was refused."""

    clips: ControlPlaneConfig = field(default_factory=ControlPlaneConfig)
    chat: ChatSettings = DEFAULTS
    problems: tuple[str, ...] = ()


class ConfigSource(Protocol):
    def current(self) -> LiveConfig: ...


class StaticConfig:
    """A fixed config (replay without Firestore, tests, benchmark); `set` swaps it."""

    def __init__(self, config: LiveConfig | None = None) -> None:
        self._config = config or LiveConfig()

    def current(self) -> LiveConfig:
        return self._config

    def set(self, config: LiveConfig) -> None:
        self._config = config


def read_document(data: Mapping[str, Any] | None, previous: LiveConfig) -> LiveConfig:
    """The config a stored document means; invalid shared flags keep the previous ones."""
    problems: list[str] = []
    try:
        clips = load_config(data)
    except ConfigInvalid as error:
        clips = previous.clips
        problems += [f"{p}; the last good value stays" for p in error.problems]
    chat, chat_problems = load_chat_settings((data or {}).get("chat"))
    problems += [str(p) for p in chat_problems]
    return LiveConfig(clips, chat, tuple(problems))


class ControlPlaneWatch:
    """Listens to `control_plane/config`; `current()` is cheap and safe from any thread."""

    def __init__(
        self,
        db: firestore.Client,
        *,
        on_change: Callable[[LiveConfig], None] | None = None,
    ) -> None:
        self._ref = db.collection(COLLECTION).document(DOC)
        self._config = LiveConfig()
        self._on_change = on_change
        self._first = threading.Event()
        self._watch: Any = None

    def current(self) -> LiveConfig:
        return self._config

    @property
    def listening(self) -> bool:
        return self._watch is not None and bool(getattr(self._watch, "is_active", True))

    def start(self, timeout: float = 15.0) -> ControlPlaneWatch:
        """Subscribe and wait for the first snapshot, so the bot starts on the real config."""
        self._watch = self._ref.on_snapshot(self._on_snapshot)
        if not self._first.wait(timeout):
            logger.warning(
                "control plane: no snapshot yet, running on defaults until one arrives",
                extra={"waited_seconds": timeout},
            )
        return self

    def stop(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.unsubscribe()

    def _on_snapshot(self, docs: list[Any], changes: list[Any], read_time: Any) -> None:
        try:
            snap = docs[0] if docs else None
            data = snap.to_dict() if snap is not None and snap.exists else None
            previous = self._config
            config = read_document(data, previous)
            self._config = config
            if config.problems and config.problems != previous.problems:
                logger.warning(
                    "control plane: some settings were refused",
                    extra={"problems": list(config.problems)},
                )
            if config.chat != previous.chat or config.clips != previous.clips:
                logger.info(
                    "control plane: settings in force",
                    extra={
                        "clip_pipeline_enabled": config.clips.clip_pipeline_enabled,
                        "clip_mode_default": config.clips.clip_mode_default,
                        "chat": config.chat.model_dump(exclude={"keywords"}),
                    },
                )
            if self._on_change is not None:
                self._on_change(config)
        except Exception:
            logger.exception("control plane: could not read a snapshot; keeping the last config")
        finally:
            self._first.set()


def save_chat_settings(
    db: firestore.Client,
    changes: Mapping[str, Any],
    *,
    by: str,
    now: datetime | None = None,
) -> ChatSettings:
    """Change `chat.*` fields of `control_plane/config` (validated, merged, audited).

    For operators' tools and tests until the shared control plane model owns the chat map.
    """
    now = now or datetime.now(UTC)
    if not by.strip():
        raise ConfigInvalid([FieldProblem("updated_by", "who made the change is required")])
    snap = db.collection(COLLECTION).document(DOC).get()
    stored = (snap.to_dict() or {}) if snap.exists else {}
    before = stored.get("chat") if isinstance(stored.get("chat"), Mapping) else {}
    unknown = [name for name in changes if name not in ChatSettings.model_fields]
    if unknown:
        raise ConfigInvalid([FieldProblem(f"chat.{n}", "is not a chat setting") for n in unknown])
    merged = dict(before) | dict(changes)
    settings, problems = load_chat_settings(merged)
    if problems:
        raise ConfigInvalid(problems)
    ControlPlaneStore(db).write_section(
        "chat",
        merged,
        changes=changes,
        before={k: before.get(k) for k in changes},
        by=by,
        now=now,
    )
    return settings
