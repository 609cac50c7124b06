"""`vision_ingest` (issue 12): an OBS frame in; what is on screen, and maybe a candidate, out.

check → rate limit → cost cap → classify → scene context → maybe enqueue. A refused request
(token, size, type, broadcaster, capture time, no model) writes nothing. Past the checks,
the frame takes a slot of its channel's minute window and one of the hour's model-call
window (`VisionLimits`, shared by all instances), then the classifier looks at it. A model
timeout or error writes neither a scene nor a candidate. A trigger event above the threshold
enqueues a `source=vision` candidate through the queue's validation and dedupe, with the
capture time as `source_ts`, so resending the same moment finds the same action. One moment,
one candidate: a trigger inside a moment already pending (another candidate of the channel
within `chat.moment_merge_seconds`) joins it (`ActionQueue.merge_request`: "asked for by
@vision", a higher score) instead of becoming a second queue item.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.approval_policy import PolicyFacts
from shared.domain.clock import Clock, utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import CandidateInvalid, ConfigInvalid, NotFound
from shared.domain.vision import (
    Drop,
    Frame,
    FrameOutcome,
    FrameRefused,
    FrameRequest,
    ModelFailed,
    ModelTimeout,
    SceneClassification,
    SceneClassifier,
    SceneContext,
    VisionSettings,
    candidate_fields,
    check_frame,
    hour_window,
    minute_window,
    retry_after,
    should_trigger,
)
from shared.pipeline.auto_approve import AutoApprover
from shared.store.action_queue import ActionItem, ActionQueue
from shared.store.control_plane import ControlPlaneStore
from shared.store.scene_context import SceneContextStore
from shared.store.vision_limits import VisionLimits
from shared.store.vision_stats import VisionStatsStore

logger = logging.getLogger(__name__)

DEFAULT_MODEL_TIMEOUT = 20.0
VISION_REQUESTER = "vision"  # how a merged trigger is named: "asked for by @vision"
NO_MODEL = (
    "GEMINI_API_KEY is not set on the function: vision is off. Set it (from Secret Manager) "
    "and redeploy vision_ingest."
)


@dataclass(frozen=True)
class IngestAnswer:
    """The HTTP answer: status, JSON body, headers (Retry-After, Server-Timing)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Policy:
    vision: VisionSettings
    pipeline_enabled: bool
    duration: float
    dedupe_window_seconds: int
    config: ControlPlaneConfig = field(default_factory=ControlPlaneConfig)
    merge_seconds: float = 30.0


class VisionIngest:
    def __init__(
        self,
        *,
        token: str | None,
        classifier: SceneClassifier | None,
        config: ControlPlaneStore,
        limits: VisionLimits,
        scenes: SceneContextStore,
        queue: ActionQueue,
        stats: VisionStatsStore,
        no_classifier_reason: str = NO_MODEL,
        model_timeout: float = DEFAULT_MODEL_TIMEOUT,
        clock: Clock = utc_now,
        timer: Callable[[], float] = time.perf_counter,
        auto_approve: AutoApprover | None = None,
    ) -> None:
        """`auto_approve`: the auto-approval policy, applied to each new candidate with the
        event the model saw (a `vision` rule may list events)."""
        self._auto_approve = auto_approve
        self._token = token
        self._classifier = classifier
        self._config = config
        self._limits = limits
        self._scenes = scenes
        self._queue = queue
        self._stats = stats
        self._no_classifier_reason = no_classifier_reason
        self._model_timeout = model_timeout
        self._clock = clock
        self._timer = timer

    def handle(self, request: FrameRequest) -> IngestAnswer:
        """One frame; every outcome is an answer (unexpected errors propagate as 500)."""
        started = self._timer()
        now = self._clock()
        try:
            frame = check_frame(request, token=self._token, now=now)
            classifier = self._classifier
            if classifier is None:
                raise FrameRefused(Drop.NO_MODEL, self._no_classifier_reason)
            policy = self._policy()
        except FrameRefused as refused:
            logger.warning(
                "vision frame refused",
                extra={"drop": refused.drop.value, "status": refused.status},
            )
            return self._refusal(refused, started, model_ms=None)
        return self._admitted(frame, classifier, policy, now, started)

    def _policy(self) -> _Policy:
        try:
            config = self._config.read()
        except ConfigInvalid as error:
            raise FrameRefused(
                Drop.CONFIG_INVALID,
                f"the control plane is invalid ({'; '.join(map(str, error.problems))}): "
                "fix it on the Control plane page",
            ) from None
        return _Policy(
            vision=config.vision,
            pipeline_enabled=config.clip_pipeline_enabled,
            duration=config.clip_default_duration,
            dedupe_window_seconds=config.dedupe_window_seconds,
            config=config,
            merge_seconds=config.chat.moment_merge_seconds,
        )

    def _admitted(
        self,
        frame: Frame,
        classifier: SceneClassifier,
        policy: _Policy,
        now: datetime,
        started: float,
    ) -> IngestAnswer:
        settings = policy.vision
        minute = minute_window(now)
        if not self._limits.take_frame(
            frame.broadcaster_id, minute, settings.frames_per_minute, now
        ):
            return self._dropped(
                FrameRefused(
                    Drop.RATE_LIMITED,
                    f"more than {settings.frames_per_minute} frames this minute for channel "
                    f"{frame.broadcaster_id}: send one every "
                    f"{60 / settings.frames_per_minute:g} s",
                    retry_after=retry_after(now, minute),
                ),
                frame,
                now,
                started,
            )
        hour = hour_window(now)
        if not self._limits.take_model_call(hour, settings.max_model_calls_per_hour, now):
            return self._dropped(
                FrameRefused(
                    Drop.COST_CAP,
                    f"the hourly cap of {settings.max_model_calls_per_hour} model calls is "
                    "reached (control plane vision.max_model_calls_per_hour)",
                    retry_after=retry_after(now, hour),
                ),
                frame,
                now,
                started,
            )
        called = self._timer()
        try:
            scene = classifier.classify(
                frame.data, frame.mime, model=settings.model, timeout=self._model_timeout
            )
        except (ModelTimeout, ModelFailed) as error:
            drop = Drop.MODEL_TIMEOUT if isinstance(error, ModelTimeout) else Drop.MODEL_ERROR
            model_ms = (self._timer() - called) * 1000
            refused = FrameRefused(drop, f"{error}; nothing was recorded for this frame")
            return self._dropped(refused, frame, now, started, model_ms=model_ms, policy=policy)
        model_ms = (self._timer() - called) * 1000
        return self._classified(frame, scene, classifier, policy, now, started, model_ms)

    def _apply_policy(
        self, action_id: str, frame: Frame, scene: SceneClassification, policy: _Policy
    ) -> str:
        """The auto-approval policy on a new vision candidate; what it did, for the note."""
        if self._auto_approve is None:
            return ""
        facts = PolicyFacts(
            action_id=action_id,
            broadcaster_id=frame.broadcaster_id,
            source="vision",
            score=round(scene.confidence, 3),
            moment=frame.captured_at,
            mode="live",
            duration=policy.duration,
            vision_event=scene.event,
        )
        try:
            outcome = self._auto_approve.consider(facts, policy.config)
        except Exception:
            logger.exception(
                "vision: the auto-approval policy failed", extra={"action_id": action_id}
            )
            return ""
        return f"; {outcome.reason}" if outcome.approved else ""

    def _classified(
        self,
        frame: Frame,
        scene: SceneClassification,
        classifier: SceneClassifier,
        policy: _Policy,
        now: datetime,
        started: float,
        model_ms: float,
    ) -> IngestAnswer:
        settings = policy.vision
        triggered = should_trigger(scene, settings)
        action_id: str | None = None
        duplicate = False
        merged = False
        note = "no trigger event above the threshold"
        if triggered and not policy.pipeline_enabled:
            note = "trigger seen, but clip_pipeline_enabled is off: nothing enqueued"
        elif triggered:
            fields = candidate_fields(
                scene,
                broadcaster_id=frame.broadcaster_id,
                captured_at=frame.captured_at,
                duration=policy.duration,
            )
            joined = self._merge(frame, scene, fields, policy, now)
            if joined is not None:
                action_id, merged = joined
                duplicate = True
                note = (
                    "joined the moment already queued" if merged else "same moment already queued"
                )
            else:
                action_id, duplicate, note = self._submit(fields, frame, scene, policy, now)
        self._scenes.save(
            SceneContext.seen(
                frame,
                scene,
                model=settings.model,
                classifier=classifier.name,
                received_at=now,
                triggered=triggered,
                action_id=action_id,
            )
        )
        self._stats.record(
            FrameOutcome(
                model_called=True,
                latency_ms=model_ms,
                cost_usd=settings.price_per_call_usd,
                event=scene.event,
                triggered=triggered and action_id is not None and not duplicate,
                duplicate=duplicate,
                model=settings.model,
            ),
            now,
        )
        logger.info(
            "vision frame classified",
            extra={
                "broadcaster_id": frame.broadcaster_id,
                "event": scene.event,
                "confidence": scene.confidence,
                "triggered": triggered,
                "action_id": action_id,
                "duplicate": duplicate,
                "model_ms": round(model_ms, 1),
            },
        )
        body = {
            "ok": True,
            "scene": scene.model_dump(),
            "classifier": classifier.name,
            "model": settings.model,
            "captured_at": frame.captured_at.isoformat(),
            "capture_time_sent": frame.capture_sent,
            "triggered": triggered,
            "action_id": action_id,
            "duplicate": duplicate,
            "merged": merged,
            "note": note,
        }
        return IngestAnswer(200, body, {"Server-Timing": self._timing(started, model_ms)})

    def _submit(
        self,
        fields: dict[str, Any],
        frame: Frame,
        scene: SceneClassification,
        policy: _Policy,
        now: datetime,
    ) -> tuple[str | None, bool, str]:
        """Enqueue a new vision candidate: (action id, duplicate, note)."""
        try:
            result = self._queue.submit(
                fields, dedupe_window_seconds=policy.dedupe_window_seconds, now=now
            )
        except CandidateInvalid as error:
            logger.error("vision candidate refused", extra={"problems": error.fields})
            return None, False, f"trigger seen, but the candidate was refused: {error}"
        if result.duplicate:
            return result.action_id, True, "same moment already queued"
        note = "candidate queued" + self._apply_policy(result.action_id, frame, scene, policy)
        return result.action_id, False, note

    def _merge(
        self,
        frame: Frame,
        scene: SceneClassification,
        fields: dict[str, Any],
        policy: _Policy,
        now: datetime,
    ) -> tuple[str, bool] | None:
        """Join the pending candidate of this channel nearest the frame's moment, if one is
        within `merge_seconds`: (its action id, whether this trigger was added). None: no such
        candidate, or only this very frame's own candidate (a resend, which the queue's dedupe
        answers)."""
        window = policy.merge_seconds
        if window <= 0:
            return None
        near: ActionItem | None = None
        for item in self._queue.list_pending():
            payload = item.payload
            if payload.broadcaster_id != frame.broadcaster_id:
                continue
            gap = abs((payload.source_ts - frame.captured_at).total_seconds())
            if gap > window:
                continue
            if near is None or gap < abs(
                (near.payload.source_ts - frame.captured_at).total_seconds()
            ):
                near = item
        if near is None:
            return None
        if near.payload.source == "vision" and near.payload.source_ts == frame.captured_at:
            return None
        try:
            result = self._queue.merge_request(
                near.action_id,
                requested_by=VISION_REQUESTER,
                score=round(scene.confidence, 3),
                title=fields["suggested_title"],
                now=now,
            )
        except NotFound:  # decided and gone meanwhile: a candidate of its own
            return None
        return result.action_id, result.merged

    def _dropped(
        self,
        refused: FrameRefused,
        frame: Frame,
        now: datetime,
        started: float,
        *,
        model_ms: float | None = None,
        policy: _Policy | None = None,
    ) -> IngestAnswer:
        """A frame past the request checks that got no classification: counted, then told."""
        called = refused.drop in (Drop.MODEL_TIMEOUT, Drop.MODEL_ERROR)
        settings = policy.vision if policy else None
        self._stats.record(
            FrameOutcome(
                drop=refused.drop,
                model_called=called,
                latency_ms=model_ms,
                cost_usd=settings.price_per_call_usd if called and settings else 0.0,
                model=settings.model if settings else "",
            ),
            now,
        )
        logger.warning(
            "vision frame dropped",
            extra={
                "broadcaster_id": frame.broadcaster_id,
                "drop": refused.drop.value,
                "status": refused.status,
                "retry_after": refused.retry_after,
            },
        )
        return self._refusal(refused, started, model_ms=model_ms)

    def _refusal(
        self, refused: FrameRefused, started: float, *, model_ms: float | None
    ) -> IngestAnswer:
        headers = {"Server-Timing": self._timing(started, model_ms)}
        if refused.retry_after is not None:
            headers["Retry-After"] = str(refused.retry_after)
        if refused.drop is Drop.UNAUTHORIZED:
            headers["WWW-Authenticate"] = 'Bearer realm="vision_ingest"'
        body: dict[str, Any] = {
            "ok": False,
            "error": refused.drop.value,
            "message": refused.message,
        }
        if refused.retry_after is not None:
            body["retry_after"] = refused.retry_after
        return IngestAnswer(refused.status, body, headers)

    def _timing(self, started: float, model_ms: float | None) -> str:
        total = (self._timer() - started) * 1000
        parts = [f"total;dur={total:.1f}"]
        if model_ms is not None:
            parts.insert(0, f"model;dur={model_ms:.1f}")
        return ", ".join(parts)
