"""The control plane as the bot sees it, kept current by the store's listener (no restarts).

`control_plane/config` holds the shared flags (`clip_pipeline_enabled`, `clip_mode_default`,
`dedupe_window_seconds`, ...) and the bot's own `chat` map, one model read by
`ControlPlaneStore.watch`. A change arrives within about a second; the detectors read
`current()` on every message, so a new threshold applies to the next message. A document
whose shared flags fail validation keeps the last good values, and says so; a bad chat
setting falls back to its default, and says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from shared.domain.chat_settings import DEFAULTS, ChatSettings
from shared.domain.control_plane import ControlPlaneConfig, LoadedConfig
from shared.domain.errors import ConfigInvalid
from shared.pipeline.snapshot_listener import Subscription
from shared.store.control_plane import ControlPlaneStore

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


class ControlPlaneWatch:
    """Listens to `control_plane/config`; `current()` is cheap and safe from any thread."""

    def __init__(
        self,
        store: ControlPlaneStore,
        *,
        on_change: Callable[[LiveConfig], None] | None = None,
    ) -> None:
        self._store = store
        self._config = LiveConfig()
        self._on_change = on_change
        self._first = threading.Event()
        self._watch: Subscription | None = None

    def current(self) -> LiveConfig:
        return self._config

    @property
    def listening(self) -> bool:
        return self._watch is not None and self._watch.is_active

    def start(self, timeout: float = 15.0) -> ControlPlaneWatch:
        """Subscribe and wait for the first snapshot, so the bot starts on the real config."""
        self._watch = self._store.watch(self._on_config, self._on_invalid)
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

    def _on_config(self, loaded: LoadedConfig) -> None:
        config = loaded.config
        problems = tuple(str(p) for p in loaded.fallbacks)
        self._apply(LiveConfig(config, config.chat, problems))

    def _on_invalid(self, error: ConfigInvalid) -> None:
        previous = self._config
        problems = tuple(f"{p}; the last good value stays" for p in error.problems)
        self._apply(LiveConfig(previous.clips, previous.chat, problems))

    def _apply(self, config: LiveConfig) -> None:
        try:
            previous, self._config = self._config, config
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
            logger.exception("control plane: could not apply a snapshot; keeping the last config")
        finally:
            self._first.set()
