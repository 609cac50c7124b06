"""Cloud Functions entry points (SPEC 6). Each one decodes its event and calls the core."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent

from functions.wiring import clip_runtime
from shared.events.firestore_document import decode_document_written

logger = logging.getLogger("functions")


@functions_framework.cloud_event
def on_clip_job_written(cloud_event: CloudEvent) -> None:
    """Firestore `document.v1.written` on `clip_jobs/{job_id}` (Eventarc, protobuf)."""
    outcome = clip_runtime().worker.on_job_written(decode_document_written(cloud_event))
    if outcome.result != "ignored":
        logger.info("clip job %s: %s", outcome.job_id, outcome.result, extra=asdict(outcome))


@functions_framework.http
def sweep_clip_jobs(request: flask.Request) -> tuple[dict[str, Any], int]:
    """Cloud Scheduler, every minute."""
    report = clip_runtime().sweeper.run()
    logger.info("sweep done", extra={"sweep": asdict(report)})
    return asdict(report), 500 if report.errors else 200


@functions_framework.http
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
