"""Chat decisions carried out off the chat loop, through the app's own approval.

`submit()` only queues the request and returns, like the candidate sink. One worker thread
takes requests in chat order: it lets the sink finish writing the candidates chat already
produced (so `!approve` right after `!clip` finds it), resolves the code among the channel's
pending candidates and those decided moments ago (`shared.domain.approval_codes`), then
approves through `shared.pipeline.approve.approve` (or rejects through the queue) with the
chatter's login as who decided and `chat` as the path. The decision record makes a second
decider lose, on any instance; they are told who was first. Each request gets one reply.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta
from functools import partial

from chatbot.approval_commands import (
    DecisionRequest,
    already_reply,
    ambiguous_reply,
    decided_reply,
    failed_reply,
    none_pending_reply,
    refused_edit_reply,
    unknown_reply,
)
from chatbot.draining import Draining
from chatbot.outbox import Outbox
from shared.domain.approval_codes import Coded, Resolution, resolve
from shared.domain.clip_job import ApprovalEdits
from shared.domain.clock import Clock, utc_now
from shared.domain.errors import ActionAlreadyDecided, InvalidInput, NotFound
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionItem, ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.queue_feed import QueueFeed

logger = logging.getLogger(__name__)

VIA = "chat"
RECENT = timedelta(minutes=2)
SETTLE_SECONDS = 2.0
MAX_PENDING = 100
KEEP_RESULTS = 500


@dataclass(frozen=True)
class DecisionResult:
    """What one chat decision did: `outcome` is approved, rejected, already, ambiguous,
    unknown, none_pending, refused or failed."""

    request: DecisionRequest
    outcome: str
    reply: str
    action_id: str | None = None
    job_id: str | None = None


def coded(item: ActionItem) -> Coded:
    return Coded(
        item.action_id,
        item.created_at or item.payload.source_ts,
        item.status.value,
        item.decided_by,
    )


@dataclass(eq=False)
class ChatDecisions(Draining):
    queue: ActionQueue
    jobs: ClipJobStore
    feed: QueueFeed
    outbox: Outbox
    _: KW_ONLY
    settle: Callable[[float], bool] | None = None
    clock: Clock = utc_now
    stats: Counter[str] = field(default_factory=Counter, init=False)
    results: deque[DecisionResult] = field(
        default_factory=partial(deque, maxlen=KEEP_RESULTS), init=False
    )

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-decide")
        self._lock = threading.Condition()
        self._pending = 0

    def submit(self, request: DecisionRequest) -> bool:
        """Queue one decision; never blocks. False when too many wait or it is closed."""
        with self._lock:
            if self._pending >= MAX_PENDING:
                logger.error("chat decisions full: a command was dropped")
                return False
            self._pending += 1
        try:
            self._pool.submit(self._run, request)
        except RuntimeError:
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()
            return False
        return True

    def _run(self, request: DecisionRequest) -> None:
        try:
            result = self._decide(request)
        except Exception:
            logger.exception("chat decision failed", extra={"verb": request.verb})
            reply = failed_reply(request.user, request.code, request.language)
            result = DecisionResult(request, "failed", reply)
        try:
            self.stats[result.outcome] += 1
            self.results.append(result)
            self.outbox.post(result.reply)
        finally:
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()

    def _resolve(self, request: DecisionRequest) -> Resolution:
        channel = request.broadcaster_id
        pending = [
            coded(item)
            for item in self.queue.list_pending()
            if item.payload.broadcaster_id == channel
        ]
        recent = [
            coded(item)
            for item in self.feed.decided_since(self.clock() - RECENT)
            if item.payload.broadcaster_id == channel
        ]
        return resolve(request.code, pending, recent)

    def _decide(self, request: DecisionRequest) -> DecisionResult:
        if self.settle is not None:
            self.settle(SETTLE_SECONDS)
        found = self._resolve(request)
        user, language = request.user, request.language
        if found.outcome == "none_pending":
            return DecisionResult(request, "none_pending", none_pending_reply(user, language))
        if found.outcome == "unknown":
            reply = unknown_reply(user, found.code or "?", language)
            return DecisionResult(request, "unknown", reply)
        if found.outcome == "ambiguous":
            reply = ambiguous_reply(user, found.code or "?", found.codes, language)
            return DecisionResult(request, "ambiguous", reply)
        code = found.code or "?"
        if found.outcome == "decided":
            status = found.status or "decided"
            reply = already_reply(user, code, status, found.decided_by, language)
            return DecisionResult(request, "already", reply, found.action_id)
        action_id = found.action_id or ""
        try:
            return self._act(request, action_id, code)
        except ActionAlreadyDecided as error:
            reply = already_reply(user, code, error.status, error.by, language)
            return DecisionResult(request, "already", reply, action_id)
        except NotFound:
            return DecisionResult(request, "unknown", unknown_reply(user, code, language))
        except InvalidInput as error:
            problem = "; ".join(str(p) for p in error.problems)
            reply = refused_edit_reply(user, code, problem, language)
            return DecisionResult(request, "refused", reply, action_id)

    def _act(self, request: DecisionRequest, action_id: str, code: str) -> DecisionResult:
        now = self.clock()
        who = request.login
        context = {"action_id": action_id, "by": who, "via": VIA}
        if request.verb == "reject":
            item = self.queue.reject(action_id, by=who, reason=request.text, now=now, via=VIA)
            logger.info("candidate rejected in chat", extra=context)
            title = item.payload.suggested_title
            reply = decided_reply(request.user, "reject", code, title, request.language)
            return DecisionResult(request, "rejected", reply, action_id)
        edits = ApprovalEdits(title=request.text) if request.text else None
        job = approve(self.queue, self.jobs, action_id, by=who, edits=edits, now=now, via=VIA)
        logger.info("candidate approved in chat", extra=context | {"job_id": job.job_id})
        reply = decided_reply(request.user, "approve", code, job.requested_title, request.language)
        return DecisionResult(request, "approved", reply, action_id, job.job_id)
