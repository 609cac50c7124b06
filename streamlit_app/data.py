"""Reads only the app needs (counts, recent jobs) and the check that Firestore answers.

The stores in `shared.store` do every write and the per-status listings; these two reads
exist for the Health page's numbers and charts.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.clip_job import ClipJob, JobStatus
from shared.store.clip_jobs import COLLECTION as JOBS

RECENT_JOBS_LIMIT = 1000


class FirestoreUnavailable(RuntimeError):
    """Firestore cannot be used right now; the message says what to check."""


def emulator_problem(timeout: float = 0.5) -> str | None:
    """When FIRESTORE_EMULATOR_HOST is set, a TCP connect tells in milliseconds whether it is
    up, instead of the client retrying for a minute before it gives up."""
    host = os.environ.get("FIRESTORE_EMULATOR_HOST", "").strip()
    if not host:
        return None
    name, _, port = host.rpartition(":")
    try:
        with socket.create_connection((name.strip("[]") or "localhost", int(port)), timeout):
            return None
    except (OSError, ValueError):
        return (
            f"The Firestore emulator at {host} does not answer. Start it (bash local/run "
            "starts the whole local stack) or correct FIRESTORE_EMULATOR_HOST, then wait: "
            "this page retries by itself."
        )


def count_by_status(db: firestore.Client) -> dict[JobStatus, int]:
    """One aggregation query per status: cheap at any number of jobs."""
    counts = {}
    for status in JobStatus:
        query = db.collection(JOBS).where(filter=FieldFilter("status", "==", status.value))
        result = query.count().get()
        counts[status] = int(result[0][0].value) if result else 0
    return counts


def recent_jobs(
    db: firestore.Client, now: datetime, hours: int = 24, limit: int = RECENT_JOBS_LIMIT
) -> list[ClipJob]:
    """Jobs created in the last `hours` (a single-field range: no composite index needed)."""
    since = now - timedelta(hours=hours)
    query = (
        db.collection(JOBS)
        .where(filter=FieldFilter("created_at", ">=", since))
        .order_by("created_at", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    return [ClipJob.model_validate(snap.to_dict()) for snap in query.stream()]
