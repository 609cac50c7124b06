"""Hands detections to Firestore off the chat loop: LLM goal, validation, idempotent enqueue.

`submit()` only puts the detection on a worker pool and returns, so the message handler never
waits for Firestore or Gemini. A worker re-reads the control plane (nothing is enqueued while
`clip_pipeline_enabled` is false, even if it was switched off after the detection), lets the
LLM goal retitle a spike (of messages or keywords), builds the candidate fields and calls the
shared `ActionQueue.submit` (validation + `create()` under the dedupe key). Enqueue is
idempotent, so transient Firestore errors are retried safely with the Firestore client's own
`google.api_core` retry: an ambiguous first try comes back a duplicate. A newly written
candidate is then handed to `after_enqueue` on the same worker (the auto-approval policy), with
the roles of who asked for it.

One moment, one candidate: a request the brain found inside a moment already proposed
(`merge_into`) waits for that moment's candidate to be written and joins it
(`ActionQueue.merge_request`: "asked for by @name", a higher score) instead of becoming a second
queue item; if that candidate was never written (paused, refused, a restart), the request is
queued on its own.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type

from chatbot.candidates import candidate_fields
from chatbot.control import ConfigSource
from chatbot.detection import REACTION_SOURCES, Detection
from chatbot.draining import Draining
from chatbot.llm import LlmOff, MomentWriter, apply_proposal
from chatbot.titles import command_title
from chatbot.vod import StreamArchive
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import CandidateInvalid
from shared.store.action_queue import EnqueueResult, MergeResult

logger = logging.getLogger(__name__)

Status = Literal["enqueued", "duplicate", "merged", "paused", "refused", "failed", "dropped"]
TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.Aborted,
    gexc.ResourceExhausted,
)
KEEP_OUTCOMES = 1000
MAX_PENDING = 500  # detections waiting for a worker; more are dropped, never queued unbounded
MERGE_WAIT_SECONDS = 15.0  # how long a request waits for its moment's candidate to be written
KEEP_MOMENTS = 256
_WRITING = ""  # a moment whose candidate a worker is still writing


def _log_busy(error: Exception) -> None:
    logger.warning(
        "chat sink: Firestore busy, retrying", extra={"error_type": type(error).__name__}
    )


ENQUEUE_RETRY = Retry(
    predicate=if_exception_type(*TRANSIENT),
    initial=0.5,
    maximum=4.0,
    multiplier=2.0,
    timeout=10.0,
    on_error=_log_busy,
)


class Submitter(Protocol):
    """`shared.store.action_queue.ActionQueue` fits."""

    def submit(
        self, fields: Mapping[str, Any], *, dedupe_window_seconds: int = ...
    ) -> EnqueueResult: ...

    def merge_request(
        self, action_id: str, *, requested_by: str, score: float, title: str | None = ...
    ) -> MergeResult: ...


class ArchiveSource(Protocol):
    def current(self) -> StreamArchive | None: ...


@dataclass(frozen=True)
class Enqueued:
    """A candidate the sink just wrote, with what only the bot knows of it: the roles of who
    asked for it, the config it was written under and the broadcast's archive."""

    action_id: str
    fields: Mapping[str, Any]
    requester_roles: frozenset[str]
    config: ControlPlaneConfig
    archive: StreamArchive | None


class AfterEnqueue(Protocol):
    """Called on the sink's worker for every candidate it newly wrote."""

    def enqueued(self, candidate: Enqueued) -> None: ...


@dataclass(frozen=True)
class SinkOutcome:
    status: Status
    source: str
    source_ts: str | None = None
    action_id: str | None = None
    title: str | None = None
    detail: str | None = None


class CandidateSink(Draining):
    def __init__(
        self,
        submitter: Submitter,
        config: ConfigSource,
        writer: MomentWriter | None = None,
        *,
        archive: ArchiveSource | None = None,
        workers: int = 4,
        retry: Retry = ENQUEUE_RETRY,
        after_enqueue: AfterEnqueue | None = None,
    ) -> None:
        self._submitter = submitter
        self._config = config
        self.writer: MomentWriter = writer or LlmOff()
        self._archive = archive
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chat-sink")
        self._retry = retry
        self._after_enqueue = after_enqueue
        self._lock = threading.Condition()
        self._pending = 0
        self.stats: Counter[str] = Counter()
        self.outcomes: deque[SinkOutcome] = deque(maxlen=KEEP_OUTCOMES)
        # moment key -> action id of its candidate (_WRITING while in flight, None: not written)
        self._moments: OrderedDict[str, str | None] = OrderedDict()

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def submit(
        self, detection: Detection, *, requester_roles: frozenset[str] = frozenset()
    ) -> bool:
        """Queue one detection for the workers; never blocks. False when over capacity.
        `requester_roles`: the chat roles of who typed the `!clip`, for the policy."""
        with self._lock:
            if self._pending >= MAX_PENDING:
                self._record(SinkOutcome("dropped", detection.source, detail="sink is full"))
                logger.error(
                    "chat sink full: a detection was dropped",
                    extra={"source": detection.source, "pending": self._pending},
                )
                return False
            self._pending += 1
            if detection.moment_key and detection.merge_into is None:
                self._moments[detection.moment_key] = _WRITING
                while len(self._moments) > KEEP_MOMENTS:
                    self._moments.popitem(last=False)
        try:
            self._pool.submit(self._run, detection, requester_roles)
        except RuntimeError:
            self._done(SinkOutcome("dropped", detection.source, detail="sink is closed"))
            return False
        return True

    def _record(self, outcome: SinkOutcome) -> None:
        self.stats[outcome.status] += 1
        self.outcomes.append(outcome)

    def _done(self, outcome: SinkOutcome) -> None:
        with self._lock:
            self._record(outcome)
            self._pending -= 1
            self._lock.notify_all()

    def _run(self, detection: Detection, requester_roles: frozenset[str] = frozenset()) -> None:
        outcome = SinkOutcome("failed", detection.source, detail="unexpected error")
        try:
            if detection.merge_into is not None:
                outcome = self._merge(detection) or self._process(detection, requester_roles)
            else:
                outcome = self._process(detection, requester_roles)
        except Exception:
            logger.exception("chat sink: a detection could not be handled")
        finally:
            if detection.moment_key and detection.merge_into is None:
                written = outcome.status in ("enqueued", "duplicate")
                self._resolve(detection.moment_key, outcome.action_id if written else None)
            self._done(outcome)

    def _resolve(self, key: str, action_id: str | None) -> None:
        with self._lock:
            if key in self._moments:
                self._moments[key] = action_id
            self._lock.notify_all()

    def _merge(self, detection: Detection) -> SinkOutcome | None:
        """Join the candidate of the moment this request fell in; None when there is none to
        join (the request is then queued on its own)."""
        key = detection.merge_into or ""
        with self._lock:
            if key not in self._moments:
                return None
            self._lock.wait_for(lambda: self._moments.get(key) != _WRITING, MERGE_WAIT_SECONDS)
            action_id = self._moments.get(key)
        if not action_id:
            return None
        if not self._config.current().clips.clip_pipeline_enabled:
            return SinkOutcome("paused", detection.source)
        requester = detection.requested_by or "chat"
        typed = detection.title if detection.title != command_title(requester) else None
        result = self._retry(self._submitter.merge_request)(
            action_id, requested_by=requester, score=detection.score, title=typed
        )
        status: Status = "merged" if result.merged else "duplicate"
        logger.info(
            "clip request joined the candidate of its moment",
            extra={"action_id": action_id, "requested_by": requester, "status": status},
        )
        return SinkOutcome(status, detection.source, None, action_id, detection.title)

    def _process(self, detection: Detection, requester_roles: frozenset[str]) -> SinkOutcome:
        config = self._config.current()
        if not config.clips.clip_pipeline_enabled:
            logger.info(
                "clip pipeline is off: detection not queued", extra={"source": detection.source}
            )
            return SinkOutcome("paused", detection.source)
        chat = config.chat
        if detection.source in REACTION_SOURCES and chat.llm_enabled and self.writer.enabled:
            proposal = self.writer.propose(
                detection.window,
                hint=f"{detection.source}, score {detection.score:.2f}, {detection.title!r}",
                model=chat.llm_model,
                timeout=chat.llm_timeout_seconds,
            )
            if proposal is not None:
                detection = apply_proposal(detection, proposal)
        archive = self._archive.current() if self._archive is not None else None
        built = candidate_fields(detection, config.clips, chat, archive)
        fields = built.fields
        if built.note:
            logger.warning(built.note, extra={"source": detection.source})
        try:
            result = self._enqueue(fields, config.clips.dedupe_window_seconds)
        except CandidateInvalid as error:
            logger.error(
                "chat candidate refused by validation",
                extra={"source": detection.source, "problems": [str(p) for p in error.problems]},
            )
            return SinkOutcome("refused", detection.source, fields["source_ts"], detail=str(error))
        status: Status = "duplicate" if result.duplicate else "enqueued"
        logger.info(
            "clip candidate queued" if status == "enqueued" else "clip candidate already queued",
            extra={
                "action_id": result.action_id,
                "source": fields["source"],
                "source_ts": fields["source_ts"],
                "score": fields["score"],
                "mode": fields["mode"],
            },
        )
        if status == "enqueued" and self._after_enqueue is not None:
            try:
                self._after_enqueue.enqueued(
                    Enqueued(result.action_id, fields, requester_roles, config.clips, archive)
                )
            except Exception:
                logger.exception(
                    "chat sink: the after-enqueue step failed",
                    extra={"action_id": result.action_id},
                )
        return SinkOutcome(
            status,
            fields["source"],
            fields["source_ts"],
            result.action_id,
            fields["suggested_title"],
        )

    def _enqueue(self, fields: dict[str, Any], window: int) -> EnqueueResult:
        return self._retry(self._submitter.submit)(fields, dedupe_window_seconds=window)
