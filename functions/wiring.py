"""Per-process wiring of the clip functions from the environment (SPEC 6), built once."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from functools import lru_cache

from shared.logs import configure_logging, register_secret
from shared.pipeline.create import ClipWorker
from shared.pipeline.sweep import ClipSweeper
from shared.pipeline.token_health import TokenHealth
from shared.store.firestore_client import default_client
from shared.twitch.helix_clips import HelixClips

# Longer waits (a 429 reset far away) are handed to the sweeper via next_attempt_at.
MAX_INLINE_WAIT_SECONDS = 20.0


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise RuntimeError(f"{name} must be a number of seconds, got {raw!r}") from None


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RuntimeError(f"{name} is not set: set it in the function's environment")
    return value


@dataclass(frozen=True)
class ClipRuntime:
    worker: ClipWorker
    sweeper: ClipSweeper
    token_health: TokenHealth


@lru_cache(maxsize=1)
def clip_runtime() -> ClipRuntime:
    configure_logging()
    secret = _required("TWITCH_CLIENT_SECRET")
    register_secret(secret)
    db = default_client()
    twitch = HelixClips(
        _required("TWITCH_CLIENT_ID"),
        max_inline_wait=_seconds("BYTECLIPS_MAX_INLINE_WAIT_SECONDS", MAX_INLINE_WAIT_SECONDS),
    )
    instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    worker = ClipWorker(
        db,
        twitch,
        client_secret=secret,
        worker_id=f"worker-{instance}",
        lease_seconds=_seconds("BYTECLIPS_WORKER_LEASE_SECONDS", 60.0),
    )
    return ClipRuntime(
        worker=worker,
        sweeper=ClipSweeper(db, worker, sweeper_id=f"sweeper-{instance}"),
        token_health=TokenHealth(db, twitch, client_secret=secret, worker_id=f"auth-{instance}"),
    )
