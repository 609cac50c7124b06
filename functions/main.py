"""Cloud Functions entry points (docs/architecture.md §6.6). Each one decodes its event and calls
the core.

None answers 500 for a condition a retry cannot fix (docs/architecture.md §6.4): such an event is
acknowledged, reported once (one ERROR line with the document id and the reason) and, when it
belongs to a job still ours, the job fails with that reason. `on_clip_job_written` is deployed with
`--retry`, so it also drops events older than `BYTECLIPS_MAX_EVENT_AGE_SECONDS` (Google's "avoid
infinite retries" pattern); the sweeper re-arms any job whose event was dropped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent

from functions.wiring import clip_runtime, tuning_runtime, vision_runtime
from shared.domain.clock import utc_now
from shared.domain.vision import CAPTURE_HEADER, MAX_FRAME_BYTES, FrameRequest
from shared.events.firestore_document import decode_document_written
from shared.pipeline.chat_tuning import tuning_cannot_fix
from shared.pipeline.unprocessable import event_age_seconds, give_up, reason, retry_cannot_fix

logger = logging.getLogger("functions")


def _attribute(cloud_event: CloudEvent, name: str) -> Any:
    try:
        return cloud_event[name]
    except KeyError:
        return None


@functions_framework.cloud_event
def on_clip_job_written(cloud_event: CloudEvent) -> None:
    """Firestore `document.v1.written` on `clip_jobs/{job_id}` (Eventarc, protobuf)."""
    runtime = clip_runtime()
    subject = str(_attribute(cloud_event, "subject") or _attribute(cloud_event, "id") or "")
    age = event_age_seconds(_attribute(cloud_event, "time"), utc_now())
    if age is not None and age > runtime.max_event_age_seconds:
        logger.error(
            "event for %s dropped: %.0f s old, over the %.0f s limit; the sweeper re-arms the job",
            subject,
            age,
            runtime.max_event_age_seconds,
            extra={"event_id": _attribute(cloud_event, "id"), "document": subject},
        )
        return
    try:
        event = decode_document_written(cloud_event)
    except ValueError as error:
        # Only the reason's head: a parser's detail may quote the document.
        logger.error(
            "event for %s dropped: it cannot be decoded (%s)",
            subject,
            str(error).split(":")[0],
            extra={"event_id": _attribute(cloud_event, "id"), "document": subject},
        )
        return
    try:
        outcome = runtime.worker.on_job_written(event)
    except Exception as error:
        if not retry_cannot_fix(error):
            raise
        give_up(
            runtime.jobs,
            event.document_id,
            error,
            worker=runtime.worker_id,
            now=utc_now(),
            config=runtime.config,
        )
        return
    if outcome.result != "ignored":
        logger.info("clip job %s: %s", outcome.job_id, outcome.result, extra=asdict(outcome))


Handler = Callable[[flask.Request], tuple[dict[str, Any], int]]


def _acknowledge_unfixable(
    entry: str, cannot_fix: Callable[[BaseException], bool] = retry_cannot_fix
) -> Callable[[Handler], Handler]:
    """A scheduled call that fails on something a retry cannot fix is acknowledged (200) and
    reported once; any other error propagates, so Cloud Scheduler retries it."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def scheduled(request: flask.Request) -> tuple[dict[str, Any], int]:
            try:
                return handler(request)
            except Exception as error:
                if not cannot_fix(error):
                    raise
                why = reason(error)
                logger.error(
                    "%s gave up: %s", entry, why, extra={"error_type": type(error).__name__}
                )
                return {"error": why}, 200

        return scheduled

    return wrap


@functions_framework.http
@_acknowledge_unfixable("sweep")
def sweep_clip_jobs(request: flask.Request) -> tuple[dict[str, Any], int]:
    """Cloud Scheduler, every minute. 500 only for errors a retry may fix."""
    report = clip_runtime().sweeper.run()
    logger.info("sweep done", extra={"sweep": asdict(report)})
    return asdict(report), 500 if report.errors else 200


@functions_framework.http
@_acknowledge_unfixable("token validation")
def validate_tokens(request: flask.Request) -> tuple[dict[str, Any], int]:
    """Cloud Scheduler, every hour (and long-lived processes at start-up)."""
    health, checks = clip_runtime().token_health.run()
    logger.info("tokens validated", extra={"clips_auth": health.model_dump(mode="json")})
    body = {
        "clips_auth": health.model_dump(mode="json"),
        "checked": [
            {"user_id": c.user_id, "valid": c.valid, "refreshed": c.refreshed} for c in checks
        ],
    }
    return body, 200


@functions_framework.http
@_acknowledge_unfixable("chat tuning", tuning_cannot_fix)
def tune_chat_detection(request: flask.Request) -> tuple[dict[str, Any], int]:
    """Cloud Scheduler, daily: tune the chat detector to the moments viewers clipped in each
    stream that ended since the last run (each stream once). 500 only when a stream failed on
    something a retry may fix; that stream is tried again."""
    report = tuning_runtime().tuning.run()
    logger.info("chat tuning done", extra={"tuning": asdict(report)})
    return asdict(report), 500 if report.failed else 200


@functions_framework.http
def vision_ingest(request: flask.Request) -> tuple[dict[str, Any], int, dict[str, str]]:
    """OBS frames (docs/architecture.md §6.6): the raw JPEG/PNG body, `?broadcaster_id=`,
    `Authorization: Bearer`.

    Reads at most one byte past the 4 MB limit (nothing when the declared length is over it),
    then hands off; every check and decision is in `VisionIngest`."""
    declared = request.content_length
    body = b""
    while (declared or 0) <= MAX_FRAME_BYTES and len(body) <= MAX_FRAME_BYTES:
        chunk = request.stream.read(MAX_FRAME_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    answer = vision_runtime().ingest.handle(
        FrameRequest(
            body=body,
            declared_length=declared,
            content_type=request.content_type or "",
            authorization=request.headers.get("Authorization", ""),
            query={name: request.args.getlist(name) for name in request.args},
            capture_time=request.headers.get(CAPTURE_HEADER),
        )
    )
    return answer.body, answer.status, answer.headers
