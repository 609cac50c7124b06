"""`control_plane/config`: read with a short cache, listen to, write with an audit trail.

Every change, shared flag or chat setting alike, also lands in
`control_plane/config/history/{auto}` with who, when, what and the values before, so the app
can show who flipped a flag.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.watch import Watch

from shared.domain.clock import utc_now
from shared.domain.control_plane import (
    ControlPlaneConfig,
    LoadedConfig,
    apply_changes,
    load_config,
    read_config,
    retired_phrases,
    setting_value,
)
from shared.domain.errors import ConfigInvalid
from shared.domain.language import ENGLISH, Translate

COLLECTION = "control_plane"
DOC = "config"
HISTORY = "history"
# A tolerant reader's value for a switch it cannot read and has never read well: off, since
# clips must not run on a guess (the rollback switch may be what the operator meant to set).
OFF_WHEN_UNREADABLE = {"clip_pipeline_enabled": False, "clip_api_enabled": False}

logger = logging.getLogger(__name__)


def in_force(
    stored: Mapping[str, Any], error: ConfigInvalid, last_good: ControlPlaneConfig | None
) -> ControlPlaneConfig:
    """The config to run on when the stored document is refused: each refused setting takes
    its last good value, else its default (a switch: off); the readable ones stay."""
    refused = {problem.field.split(".")[0] for problem in error.problems}
    kept = {name: value for name, value in stored.items() if name not in refused}
    for name in refused & set(ControlPlaneConfig.model_fields):
        if last_good is not None:
            kept[name] = getattr(last_good, name)
        elif name in OFF_WHEN_UNREADABLE:
            kept[name] = OFF_WHEN_UNREADABLE[name]
    try:
        return load_config(kept)
    except ConfigInvalid:
        return last_good or ControlPlaneConfig.model_validate(OFF_WHEN_UNREADABLE)


def _nested(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Flat setting names (`chat.keywords`) as the document's maps."""
    document: dict[str, Any] = {}
    for name, value in fields.items():
        head, _, tail = name.partition(".")
        if tail:
            document.setdefault(head, {})[tail] = value
        else:
            document[name] = value
    return document


class ControlPlaneStore:
    def __init__(
        self,
        db: firestore.Client,
        *,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        tolerant: bool = False,
    ) -> None:
        """`tolerant` (the functions): a refused document does not raise; the settings in
        force fall back (`in_force`) and the refusal is logged once per distinct problem."""
        self._db = db
        self._tolerant = tolerant
        self._last_good: ControlPlaneConfig | None = None
        self._reported: str | None = None
        self._ref = db.collection(COLLECTION).document(DOC)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[float, ControlPlaneConfig] | None = None
        self._lock = threading.Lock()

    def read(self, *, fresh: bool = False) -> ControlPlaneConfig:
        """The config, at most `cache_seconds` old unless `fresh`."""
        with self._lock:
            cached = self._cached
        if not fresh and cached and self._clock() - cached[0] < self._cache_seconds:
            return cached[1]
        snap = self._ref.get()
        stored = snap.to_dict() if snap.exists else None
        try:
            config = load_config(stored)
        except ConfigInvalid as error:
            if not self._tolerant:
                raise
            config = in_force(stored or {}, error, self._last_good)
            self._report(error)
        else:
            self._last_good, self._reported = config, None
        with self._lock:
            self._cached = (self._clock(), config)
        return config

    def retired_notes(self, t: Translate = ENGLISH) -> list[str]:
        """One sentence per retired setting the stored document still holds (it is ignored),
        in the language of `t`."""
        snap = self._ref.get()
        stored = (snap.to_dict() or {}) if snap.exists else {}
        return [note.say(t) for note in retired_phrases(stored)]

    def _report(self, error: ConfigInvalid) -> None:
        """One ERROR line per distinct refusal: names the document and fields, never values."""
        problems = "; ".join(str(p) for p in error.problems)
        if problems == self._reported:
            return
        self._reported = problems
        logger.error(
            f"The stored document {COLLECTION}/{DOC} is unreadable: {problems}; running on the "
            "last good or default values (switches off) until it is fixed on the Control plane "
            "page",
            extra={"document": f"{COLLECTION}/{DOC}"},
        )

    def watch(
        self,
        on_config: Callable[[LoadedConfig], None],
        on_invalid: Callable[[ConfigInvalid], None],
    ) -> Watch:
        """Every version of the document, parsed, within about a second of each save.

        Callbacks run on Firestore's listener thread; `unsubscribe()` on the result stops it.
        A document whose shared flags are invalid goes to `on_invalid` instead; nothing a
        document holds stops the listener.
        """

        def deliver(docs: list[Any], changes: list[Any], read_time: Any) -> None:
            try:
                snap = docs[0] if docs else None
                data = snap.to_dict() if snap is not None and snap.exists else None
                try:
                    loaded = read_config(data)
                except ConfigInvalid as error:
                    on_invalid(error)
                    return
                on_config(loaded)
            except Exception:
                # Raising here would end Firestore's listener thread, and the listener with it.
                logger.exception(
                    f"control plane listener: {COLLECTION}/{DOC} could not be handled; the "
                    "settings in force stay",
                    extra={"document": f"{COLLECTION}/{DOC}"},
                )

        return self._ref.on_snapshot(deliver)

    def write(
        self, changes: Mapping[str, Any], *, by: str, now: datetime | None = None
    ) -> ControlPlaneConfig:
        """Validate and save a change set (`{"chat.spike_multiplier": 4.0}` names a chat
        setting); refused changes write nothing.

        Only the changed settings are written, so a save never undoes someone else's change
        to another setting, and a map value (`chat.keywords`) is replaced, not merged.
        """
        now = now or utc_now()
        current = self.read(fresh=True)
        updated = apply_changes(current, changes, by=by, now=now)
        after = {name: setting_value(updated, name) for name in changes}
        before = {name: setting_value(current, name) for name in changes}
        fields = _repairing(after, self._ref.get().to_dict() or {}) | {
            "updated_by": by,
            "updated_at": now,
        }
        batch = self._db.batch()
        batch.set(self._ref, _nested(fields), merge=list(fields))
        batch.create(
            self._ref.collection(HISTORY).document(),
            {"by": by, "at": now, "changes": after, "before": before},
        )
        batch.commit()
        with self._lock:
            self._cached = (self._clock(), updated)
        return updated

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent changes, newest first."""
        query = (
            self._ref.collection(HISTORY)
            .order_by("at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [s.to_dict() or {} for s in query.stream()]


def _repairing(after: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """Changes to a section (`chat.x`) whose stored value is not a map write the section whole:
    merging a field path into a non-map keeps the broken value on some emulators."""
    fields: dict[str, Any] = {}
    for name, value in after.items():
        section, _, key = name.partition(".")
        if key and section in stored and not isinstance(stored[section], Mapping):
            fields.setdefault(section, {})[key] = value
        else:
            fields[name] = value
    return fields
