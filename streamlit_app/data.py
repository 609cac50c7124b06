"""The check that Firestore answers, before any page reads it (reads live in `shared.store`)."""

from __future__ import annotations

import os
import socket

from shared.domain.language import ENGLISH, Translate

RECENT_JOBS_LIMIT = 1000


class FirestoreUnavailable(RuntimeError):
    """Firestore cannot be used right now; the message says what to check."""


def emulator_problem(timeout: float = 0.5, t: Translate = ENGLISH) -> str | None:
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
        return t(
            "The Firestore emulator at {host} does not answer. Start it (bash local/run "
            "starts the whole local stack) or correct FIRESTORE_EMULATOR_HOST, then wait: "
            "this page retries by itself.",
            host=host,
        )
