"""The one place the clip functions build their objects from the environment
(docs/architecture.md §6.6): one Firestore client, one Helix client, the stores, and the services
they are handed to, once per process."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from google.cloud import firestore

from shared.domain.vision import SceneClassifier
from shared.logs import configure_logging, register_secret
from shared.pipeline.auto_approve import AutoApprover
from shared.pipeline.chat_tuning import ChatTuner, EndedStreamTuning
from shared.pipeline.confirm import ClipConfirmer
from shared.pipeline.create import CRASH_ENV, ClipWorker, crash_checkpoint, no_checkpoint
from shared.pipeline.links import ClipLinks
from shared.pipeline.sweep import ClipSweeper
from shared.pipeline.token_health import TokenHealth
from shared.pipeline.vision_ingest import NO_MODEL, VisionIngest
from shared.store.action_queue import ActionQueue
from shared.store.chat_timeline import ChatTimelineStore, ChatTuningLog
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.firestore_client import default_client
from shared.store.policy_uses import PolicyUses
from shared.store.scene_context import SceneContextStore
from shared.store.twitch_tokens import FUNCTIONS, TokenSources, TwitchTokenStore
from shared.store.vision_limits import VisionLimits
from shared.store.vision_stats import VisionStatsStore
from shared.twitch.helix_clips import HelixClips
from shared.vision_model.fake import FakeSceneClassifier

# Longer waits (a 429 reset far away) are handed to the sweeper via next_attempt_at.
MAX_INLINE_WAIT_SECONDS = 20.0
# Events older than this are dropped (Google's "avoid infinite retries"): a job whose event
# was dropped is re-armed by the per-minute sweeper, so nothing is lost.
MAX_EVENT_AGE_SECONDS = 600.0


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


def _client_secret() -> str:
    """Logging set up, then the Twitch client secret, registered before anything can log it."""
    configure_logging()
    secret = _required("TWITCH_CLIENT_SECRET")
    register_secret(secret)
    return secret


def _instance() -> str:
    """This process's name in leases and logs: host, pid and a random tail."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class ClipRuntime:
    worker: ClipWorker
    sweeper: ClipSweeper
    token_health: TokenHealth
    jobs: ClipJobStore
    worker_id: str
    max_event_age_seconds: float = MAX_EVENT_AGE_SECONDS
    config: ControlPlaneStore | None = None


def build_runtime(
    db: firestore.Client,
    twitch: HelixClips,
    *,
    client_secret: str,
    instance: str,
    lease_seconds: float = 60.0,
    broadcaster_id: str | None = None,
    max_event_age_seconds: float = MAX_EVENT_AGE_SECONDS,
    checkpoint: Callable[[str], None] = no_checkpoint,
) -> ClipRuntime:
    """Wire the services over one client pair; the worker and the sweeper share the stores and
    the token recipe, so the sweeper never needs the worker itself. `checkpoint`: the fault
    benchmark's crash points (`BYTECLIPS_BENCH_CRASH_POINTS`), nothing otherwise."""
    jobs = ClipJobStore(db)
    config = ControlPlaneStore(db, tolerant=True)
    clips_auth = ClipsAuthStore(db)
    token_store = TwitchTokenStore(db)
    refresher = twitch.refresher(client_secret)
    worker_id = f"worker-{instance}"
    tokens = TokenSources(token_store, refresher=refresher, worker=worker_id)
    return ClipRuntime(
        worker=ClipWorker(
            jobs=jobs,
            config=config,
            clips_auth=clips_auth,
            twitch=twitch,
            tokens=tokens,
            confirmer=ClipConfirmer(twitch),
            worker_id=worker_id,
            lease_seconds=lease_seconds,
            checkpoint=checkpoint,
        ),
        sweeper=ClipSweeper(
            queue=ActionQueue(db),
            jobs=jobs,
            config=config,
            twitch=twitch,
            tokens=tokens,
            links=ClipLinks(jobs=jobs, twitch=twitch, tokens=tokens),
            sweeper_id=f"sweeper-{instance}",
        ),
        token_health=TokenHealth(
            tokens=token_store,
            config=config,
            clips_auth=clips_auth,
            twitch=twitch,
            refresher=refresher,
            worker_id=f"auth-{instance}",
            broadcaster_id=broadcaster_id,
            refreshes_for=FUNCTIONS,
        ),
        jobs=jobs,
        worker_id=worker_id,
        max_event_age_seconds=max_event_age_seconds,
        config=config,
    )


@lru_cache(maxsize=1)
def clip_runtime() -> ClipRuntime:
    """The process's runtime, from the function's environment."""
    secret = _client_secret()
    db = default_client()
    twitch = HelixClips(
        _required("TWITCH_CLIENT_ID"),
        max_inline_wait=_seconds("BYTECLIPS_MAX_INLINE_WAIT_SECONDS", MAX_INLINE_WAIT_SECONDS),
    )
    return build_runtime(
        db,
        twitch,
        client_secret=secret,
        instance=_instance(),
        lease_seconds=_seconds("BYTECLIPS_WORKER_LEASE_SECONDS", 60.0),
        broadcaster_id=os.environ.get("TWITCH_BROADCASTER_ID", "").strip() or None,
        max_event_age_seconds=_seconds("BYTECLIPS_MAX_EVENT_AGE_SECONDS", MAX_EVENT_AGE_SECONDS),
        checkpoint=crash_checkpoint(os.environ.get(CRASH_ENV, "")),
    )


@dataclass(frozen=True)
class VisionRuntime:
    ingest: VisionIngest


def vision_classifier(kind: str, api_key: str | None) -> tuple[SceneClassifier | None, str]:
    """The classifier `BYTECLIPS_VISION_CLASSIFIER` names, or None and why vision is off.

    `fake` is the FAKE classifier of the local stack: it never looks at a frame, so it is
    refused unless Firestore is the emulator.
    """
    kind = kind.strip().lower() or "gemini"
    if kind == "fake":
        if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
            return None, (
                "BYTECLIPS_VISION_CLASSIFIER=fake is for the local stack only (it needs "
                "FIRESTORE_EMULATOR_HOST): unset it to use Gemini"
            )
        latency = _seconds("BYTECLIPS_FAKE_CLASSIFIER_SECONDS", 0.0)
        return FakeSceneClassifier(latency=latency), ""
    if kind != "gemini":
        return None, f"BYTECLIPS_VISION_CLASSIFIER must be gemini or fake, got {kind[:20]!r}"
    if not api_key:
        return None, NO_MODEL
    from shared.vision_model.gemini import gemini_classifier  # google-genai loads only here

    return gemini_classifier(api_key), ""


def build_vision_runtime(
    db: firestore.Client,
    *,
    token: str | None,
    classifier: SceneClassifier | None,
    no_classifier_reason: str = NO_MODEL,
    model_timeout: float = 20.0,
    config_cache_seconds: float = 5.0,
) -> VisionRuntime:
    queue = ActionQueue(db)
    return VisionRuntime(
        ingest=VisionIngest(
            token=token,
            classifier=classifier,
            config=ControlPlaneStore(db, cache_seconds=config_cache_seconds, tolerant=True),
            limits=VisionLimits(db),
            scenes=SceneContextStore(db),
            queue=queue,
            stats=VisionStatsStore(db),
            no_classifier_reason=no_classifier_reason or NO_MODEL,
            model_timeout=model_timeout,
            auto_approve=AutoApprover(queue, ClipJobStore(db), PolicyUses(db)),
        )
    )


@lru_cache(maxsize=1)
def vision_runtime() -> VisionRuntime:
    """vision_ingest's runtime: Firestore and a classifier. It needs none of the clip
    functions' Twitch settings; a missing token or model key is answered 503, not a crash."""
    configure_logging()
    token = os.environ.get("VISION_INGEST_TOKEN", "").strip() or None
    api_key = os.environ.get("GEMINI_API_KEY", "").strip() or None
    register_secret(token)
    register_secret(api_key)
    classifier, why = vision_classifier(
        os.environ.get("BYTECLIPS_VISION_CLASSIFIER", "gemini"), api_key
    )
    return build_vision_runtime(
        default_client(),
        token=token,
        classifier=classifier,
        no_classifier_reason=why,
        model_timeout=_seconds("BYTECLIPS_VISION_MODEL_TIMEOUT_SECONDS", 20.0),
        config_cache_seconds=_seconds("BYTECLIPS_CONTROL_PLANE_CACHE_SECONDS", 5.0),
    )


# ------------------------------------------------------------------ after-stream chat tuning


@dataclass(frozen=True)
class TuningRuntime:
    tuning: EndedStreamTuning


def build_tuning_runtime(
    db: firestore.Client,
    twitch: HelixClips,
    *,
    client_secret: str,
    instance: str,
    broadcaster_ids: list[str],
) -> TuningRuntime:
    """The daily after-stream tuning over one client pair (docs/architecture.md §3.8)."""
    control = ControlPlaneStore(db, tolerant=True)
    log = ChatTuningLog(db)
    runner = f"tuning-{instance}"
    tokens = TokenSources(
        TwitchTokenStore(db), refresher=twitch.refresher(client_secret), worker=runner
    )
    tuner = ChatTuner(ChatTimelineStore(db), log, control, twitch)
    return TuningRuntime(
        EndedStreamTuning(
            tuner,
            log,
            control,
            twitch,
            tokens.for_user,
            broadcaster_ids,
        )
    )


@lru_cache(maxsize=1)
def tuning_runtime() -> TuningRuntime:
    """tune_chat_detection's runtime, from the clip functions' environment: the channel is
    TWITCH_BROADCASTER_ID."""
    secret = _client_secret()
    return build_tuning_runtime(
        default_client(),
        HelixClips(_required("TWITCH_CLIENT_ID")),
        client_secret=secret,
        instance=_instance(),
        broadcaster_ids=[_required("TWITCH_BROADCASTER_ID")],
    )
