"""Vision (issue 12): what a frame from OBS must be, what the model may say about it, when
that becomes a clip candidate, and what the Health page counts. Pure: no I/O.

The request checks run in a fixed order (token configured, token, size, type, broadcaster,
capture time) and each refusal raises `FrameRefused` with its HTTP status, before anything
is read from or written to Firestore. Everything the model says is untrusted text: it is
validated against the answer schema and cleaned (`shared.domain.text`) before it is stored
or shown.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.domain.clip_candidate import check_numeric_id, parse_timestamp
from shared.domain.errors import ByteClipsError
from shared.domain.language import N_, Phrase
from shared.domain.text import fit_title, plain_excerpt, require_text
from shared.domain.validation import Refusal

MAX_FRAME_BYTES = 4 * 1024 * 1024
JPEG = "image/jpeg"
PNG = "image/png"
_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
# Content-Types a sender may declare; the magic bytes decide what the body really is.
_DECLARED = {"image/jpeg": JPEG, "image/jpg": JPEG, "image/png": PNG}

# When the frame was captured (ISO 8601 with a timezone), sent by the OBS script: the
# candidate's `source_ts`, so the moment planner places the clip on the capture, not on
# the upload. Without it the time the function received the frame is used.
CAPTURE_HEADER = "X-Capture-Time"
MAX_CAPTURE_AGE = timedelta(minutes=10)
MAX_CAPTURE_LEAD = timedelta(seconds=60)

# Query parameters that would put a credential in a URL (and so in every proxy's log).
CREDENTIAL_PARAMS = frozenset(
    {"token", "access_token", "auth", "authorization", "bearer", "key", "api_key", "password"}
)

EVENTS: tuple[str, ...] = ("victory", "defeat", "death", "multikill", "clutch", "funny", "none")
Event = Literal["victory", "defeat", "death", "multikill", "clutch", "funny", "none"]
TriggerEvent = Literal["victory", "defeat", "death", "multikill", "clutch", "funny"]
EVENT_TITLES: dict[str, str] = {
    "victory": "Victory",
    "defeat": "Defeat",
    "death": "Death",
    "multikill": "Multikill",
    "clutch": "Clutch",
    "funny": "Funny moment",
}
DEFAULT_MODEL = "gemini-2.5-flash"
GAME_CHARS = 60
SCENE_CHARS = 80
SUMMARY_CHARS = 200


class Drop(StrEnum):
    """Why a frame got no classification; each has one HTTP status (`DROP_STATUS`)."""

    NOT_CONFIGURED = "not_configured"
    UNAUTHORIZED = "unauthorized"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA = "unsupported_media"
    BAD_REQUEST = "bad_request"
    NO_MODEL = "no_model"
    CONFIG_INVALID = "config_invalid"
    RATE_LIMITED = "rate_limited"
    COST_CAP = "cost_cap"
    MODEL_TIMEOUT = "model_timeout"
    MODEL_ERROR = "model_error"


DROP_STATUS: dict[Drop, int] = {
    Drop.NOT_CONFIGURED: 503,
    Drop.UNAUTHORIZED: 401,
    Drop.TOO_LARGE: 413,
    Drop.UNSUPPORTED_MEDIA: 415,
    Drop.BAD_REQUEST: 400,
    Drop.NO_MODEL: 503,
    Drop.CONFIG_INVALID: 503,
    Drop.RATE_LIMITED: 429,
    Drop.COST_CAP: 429,
    Drop.MODEL_TIMEOUT: 504,
    Drop.MODEL_ERROR: 502,
}
# Refusals of the request itself: never written anywhere (an unauthenticated caller must not
# be able to make us write), only logged.
REQUEST_REFUSALS = frozenset(
    {
        Drop.NOT_CONFIGURED,
        Drop.UNAUTHORIZED,
        Drop.TOO_LARGE,
        Drop.UNSUPPORTED_MEDIA,
        Drop.BAD_REQUEST,
        Drop.NO_MODEL,
        Drop.CONFIG_INVALID,
    }
)


class FrameRefused(ByteClipsError):
    """A frame that gets no classification, with the status and words the sender sees."""

    code = "frame_refused"

    def __init__(self, drop: Drop, message: str, *, retry_after: int | None = None) -> None:
        self.drop = drop
        self.status = DROP_STATUS[drop]
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{drop.value}: {message}")


class ModelTimeout(ByteClipsError):
    """The model did not answer in time (504)."""

    code = "model_timeout"


class ModelFailed(ByteClipsError):
    """The model answered with an error or an unusable answer (502). The message is ours:
    never the provider's raw text, which may echo the request."""

    code = "model_error"


@dataclass(frozen=True)
class FrameRequest:
    """What `vision_ingest` got, decoded from HTTP by the entry point and nothing more.

    `body` holds at most MAX_FRAME_BYTES + 1 bytes (the entry point stops reading there).
    """

    body: bytes
    declared_length: int | None
    content_type: str
    authorization: str
    query: Mapping[str, Sequence[str]]
    capture_time: str | None


@dataclass(frozen=True)
class Frame:
    """A frame that passed every request check."""

    broadcaster_id: str
    mime: str
    data: bytes
    captured_at: datetime
    capture_sent: bool


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_token(authorization: str, query: Mapping[str, Sequence[str]], expected: str) -> None:
    """The bearer token, from the Authorization header only, compared in constant time.

    A token in the URL is refused even when the header is right: URLs are logged by every
    proxy on the way, so the sender must learn to stop doing it.
    """
    in_query = any(name.lower() in CREDENTIAL_PARAMS for name in query) or any(
        _same(value, expected) for values in query.values() for value in values
    )
    if in_query:
        raise FrameRefused(
            Drop.UNAUTHORIZED,
            "credentials must not be sent in the URL: send the token only as "
            "'Authorization: Bearer <token>' (rotate VISION_INGEST_TOKEN if it was exposed)",
        )
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise FrameRefused(
            Drop.UNAUTHORIZED, "missing 'Authorization: Bearer <VISION_INGEST_TOKEN>' header"
        )
    if not _same(given.strip(), expected):
        raise FrameRefused(Drop.UNAUTHORIZED, "the bearer token is not the VISION_INGEST_TOKEN")


def frame_mime(body: bytes) -> str | None:
    """JPEG or PNG by the body's magic bytes, else None (whatever the Content-Type says)."""
    for magic, mime in _MAGIC:
        if body.startswith(magic):
            return mime
    return None


def check_body(body: bytes, declared_length: int | None, content_type: str) -> str:
    """At most 4 MB, really a JPEG or PNG, and what the Content-Type says it is."""
    if (declared_length or 0) > MAX_FRAME_BYTES or len(body) > MAX_FRAME_BYTES:
        raise FrameRefused(
            Drop.TOO_LARGE,
            f"the frame is larger than {MAX_FRAME_BYTES // (1024 * 1024)} MB: send a smaller "
            "screenshot (lower the width or the JPEG quality)",
        )
    if not body:
        raise FrameRefused(Drop.BAD_REQUEST, "the body is empty: send the frame as the body")
    mime = frame_mime(body)
    if mime is None:
        raise FrameRefused(
            Drop.UNSUPPORTED_MEDIA, "the body is not a JPEG or PNG image (checked by its bytes)"
        )
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream" and _DECLARED.get(declared) != mime:
        raise FrameRefused(
            Drop.UNSUPPORTED_MEDIA,
            f"Content-Type says {declared[:40]!r} but the body is {mime}: send image/jpeg "
            "or image/png matching the frame",
        )
    return mime


def check_broadcaster(query: Mapping[str, Sequence[str]]) -> str:
    values = list(query.get("broadcaster_id", ()))
    if len(values) != 1:
        raise FrameRefused(
            Drop.BAD_REQUEST, "broadcaster_id: give exactly one ?broadcaster_id=<numeric id>"
        )
    try:
        return check_numeric_id(values[0], N_("broadcaster (user)"))
    except ValueError as error:
        raise FrameRefused(Drop.BAD_REQUEST, f"broadcaster_id: {error}") from None


def check_capture_time(raw: str | None, now: datetime) -> tuple[datetime, bool]:
    """When the frame was captured, and whether the sender said so (else `now`)."""
    if raw is None or not raw.strip():
        return now, False
    try:
        captured = parse_timestamp(raw)
    except ValueError as error:
        raise FrameRefused(Drop.BAD_REQUEST, f"{CAPTURE_HEADER}: {error}") from None
    if captured < now - MAX_CAPTURE_AGE or captured > now + MAX_CAPTURE_LEAD:
        raise FrameRefused(
            Drop.BAD_REQUEST,
            f"{CAPTURE_HEADER}: {captured.isoformat()} is too far from the server's time "
            f"{now.isoformat()}: check the clock of the PC running OBS",
        )
    return captured, True


def check_frame(request: FrameRequest, *, token: str | None, now: datetime) -> Frame:
    """Every request check, in order; the first failure raises FrameRefused."""
    if not token:
        raise FrameRefused(
            Drop.NOT_CONFIGURED,
            "VISION_INGEST_TOKEN is not set on the function: vision_ingest refuses every frame "
            "until it is",
        )
    check_token(request.authorization, request.query, token)
    mime = check_body(request.body, request.declared_length, request.content_type)
    broadcaster_id = check_broadcaster(request.query)
    captured_at, sent = check_capture_time(request.capture_time, now)
    return Frame(broadcaster_id, mime, request.body, captured_at, sent)


class SceneClassification(BaseModel):
    """What the model says about a frame: the answer schema, validated and cleaned."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    game: str = Field("", description="The game being played, or '' when unsure.")
    scene: str = Field("", description="What is on screen, in a few words.")
    event: Event = Field("none", description="The notable event on screen, if any.")
    confidence: float = Field(ge=0.0, le=1.0, description="How sure, 0 to 1.")
    summary: str = Field("", description="One line describing the frame.")

    @field_validator("game", "scene", "summary", mode="before")
    @classmethod
    def _plain(cls, value: Any, info: ValidationInfo) -> str:
        if value is None:
            return ""
        limit = {"game": GAME_CHARS, "scene": SCENE_CHARS}.get(info.field_name or "", SUMMARY_CHARS)
        return plain_excerpt(require_text(value), limit)

    @field_validator("event", mode="before")
    @classmethod
    def _event(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


def parse_classification(raw: str | bytes | Mapping[str, Any] | None) -> SceneClassification:
    """The model's JSON answer as a classification; anything else is ModelFailed."""
    if raw is None:
        raise ModelFailed("the model gave no answer")
    try:
        if isinstance(raw, str | bytes):
            return SceneClassification.model_validate_json(raw)
        return SceneClassification.model_validate(dict(raw))
    except ValidationError as error:
        fields = sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]})
        raise ModelFailed(
            f"the model's answer did not match the schema ({', '.join(fields) or 'not JSON'})"
        ) from None


class SceneClassifier(Protocol):
    """Looks at one frame; raises ModelTimeout or ModelFailed, never anything else."""

    @property
    def name(self) -> str:
        """Shown with every scene: 'gemini', or a label that says FAKE."""
        ...

    def classify(
        self, frame: bytes, mime: str, *, model: str, timeout: float
    ) -> SceneClassification: ...


class VisionSettings(BaseModel):
    """The control plane's `vision` map: what triggers a candidate and what vision may cost."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    trigger_events: tuple[TriggerEvent, ...] = Field(
        ("victory", "multikill", "clutch"),
        description="Events that propose a clip when seen with enough confidence.",
    )
    confidence_threshold: float = Field(
        0.8, ge=0.0, le=1.0, description="A trigger event below this confidence proposes nothing."
    )
    max_model_calls_per_hour: int = Field(
        600, ge=0, le=100_000, description="Cost cap, all channels together; 0 pauses vision."
    )
    frames_per_minute: int = Field(
        12, ge=1, le=120, description="Frames accepted per channel per minute; more get 429."
    )
    model: str = Field(
        DEFAULT_MODEL,
        pattern=r"^[a-z0-9][a-z0-9.\-]{0,62}$",
        description="The Gemini model that classifies frames.",
    )
    price_per_call_usd: float = Field(
        0.0005, ge=0.0, le=1.0, description="Estimated price of one model call, for the cost."
    )

    @field_validator("trigger_events", mode="before")
    @classmethod
    def _distinct(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise Refusal(Phrase(N_("must be a list of events")))
        if isinstance(value, Sequence):
            return tuple(
                dict.fromkeys(v.strip().lower() if isinstance(v, str) else v for v in value)
            )
        return value

    @property
    def max_cost_per_hour_usd(self) -> float:
        return self.max_model_calls_per_hour * self.price_per_call_usd


def should_trigger(scene: SceneClassification, settings: VisionSettings) -> bool:
    """A trigger event seen at or above the threshold."""
    return (
        scene.event != "none"
        and scene.event in settings.trigger_events
        and scene.confidence >= settings.confidence_threshold
    )


def candidate_title(scene: SceneClassification) -> str | None:
    """Event and game only: stable for one moment across frames, so the dedupe key (which
    hashes the title) matches; the model's free-text summary goes to the excerpt."""
    label = EVENT_TITLES.get(scene.event)
    if label is None:
        return None
    return fit_title(f"{label} in {scene.game}" if scene.game else label)


def candidate_fields(
    scene: SceneClassification, *, broadcaster_id: str, captured_at: datetime, duration: float
) -> dict[str, Any]:
    """Raw `clip_candidate.v1` fields for a triggering frame (validated by `new_candidate`)."""
    excerpt = " - ".join(part for part in (scene.scene, scene.summary) if part)
    return {
        "broadcaster_id": broadcaster_id,
        "mode": "live",
        "suggested_duration": duration,
        "suggested_title": candidate_title(scene),
        "source": "vision",
        "source_ts": captured_at.astimezone(UTC).isoformat(),
        "context_excerpt": plain_excerpt(excerpt, 300),
        "score": round(scene.confidence, 3),
    }


class SceneContext(BaseModel):
    """`scene_context/{broadcaster_id}` (docs/architecture.md §3): what the model last saw on a
    channel.

    `at` is when the frame was captured. Model text (game, scene, summary) is cleaned but
    still untrusted: show it as plain text, never as Markdown or HTML.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    broadcaster_id: str
    game: str = ""
    scene: str = ""
    event: Event = "none"
    confidence: float = 0.0
    summary: str = ""
    at: datetime
    # Ours, beyond docs/architecture.md §3.6's fields: a document another tool wrote lacks them.
    received_at: datetime | None = None
    model: str = ""
    classifier: str = ""
    triggered: bool = False
    action_id: str | None = None

    @classmethod
    def seen(
        cls,
        frame: Frame,
        scene: SceneClassification,
        *,
        model: str,
        classifier: str,
        received_at: datetime,
        triggered: bool,
        action_id: str | None,
    ) -> SceneContext:
        return cls(
            broadcaster_id=frame.broadcaster_id,
            **scene.model_dump(),
            at=frame.captured_at,
            received_at=received_at,
            model=model,
            classifier=classifier,
            triggered=triggered,
            action_id=action_id,
        )

    def to_firestore(self) -> dict[str, Any]:
        return self.model_dump()


@dataclass(frozen=True)
class Window:
    """A fixed counting window: its key (part of document ids) and when it ends."""

    key: str
    ends_at: datetime


def minute_window(now: datetime) -> Window:
    start = now.astimezone(UTC).replace(second=0, microsecond=0)
    return Window(start.strftime("%Y%m%d%H%M"), start + timedelta(minutes=1))


def hour_window(now: datetime) -> Window:
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return Window(start.strftime("%Y%m%d%H"), start + timedelta(hours=1))


def retry_after(now: datetime, window: Window) -> int:
    """Whole seconds until the window ends, at least 1 (the `Retry-After` value)."""
    return max(1, math.ceil((window.ends_at - now).total_seconds()))


# Model latency histogram (upper bounds in ms); p50/p95 on the Health page come from it.
LATENCY_BUCKETS_MS: tuple[int, ...] = (250, 500, 1000, 2000, 5000, 10000, 20000)


def latency_bucket(ms: float) -> str:
    for bound in LATENCY_BUCKETS_MS:
        if ms <= bound:
            return f"le_{bound}"
    return "over"


@dataclass(frozen=True)
class FrameOutcome:
    """One authenticated, well-formed frame's fate, counted per hour for the Health page."""

    drop: Drop | None = None
    model_called: bool = False
    latency_ms: float | None = None
    cost_usd: float = 0.0
    event: str | None = None
    triggered: bool = False
    duplicate: bool = False
    model: str = ""


DROP_PREFIX = "drop_"
EVENT_PREFIX = "event_"
LATENCY_PREFIX = "latency_"


class VisionStats(BaseModel):
    """Vision's counters of one hour (UTC), for the Health page."""

    model_config = ConfigDict(extra="ignore")

    hour: str
    frames: int = 0
    model_calls: int = 0
    classified: int = 0
    triggered: int = 0
    duplicates: int = 0
    drops: dict[str, int] = Field(default_factory=dict)
    events: dict[str, int] = Field(default_factory=dict)
    latency_ms_sum: float = 0.0
    latency_ms_count: int = 0
    latency_buckets: dict[str, int] = Field(default_factory=dict)
    cost_usd: float = 0.0
    model: str = ""

    @classmethod
    def from_counters(cls, stored: Mapping[str, Any]) -> VisionStats:
        """The stored hour: flat `drop_<reason>`, `event_<event>` and `latency_<bucket>`
        counters grouped into their maps."""
        data: dict[str, Any] = {"drops": {}, "events": {}, "latency_buckets": {}}
        groups = (
            (DROP_PREFIX, "drops"),
            (EVENT_PREFIX, "events"),
            (LATENCY_PREFIX, "latency_buckets"),
        )
        for name, value in stored.items():
            for prefix, group in groups:
                if name.startswith(prefix) and name not in cls.model_fields:
                    data[group][name.removeprefix(prefix)] = value
                    break
            else:
                data[name] = value
        return cls.model_validate(data)

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms_sum / self.latency_ms_count if self.latency_ms_count else None

    def latency_quantile_ms(self, q: float) -> float | None:
        """The bucket bound under which a fraction `q` of model calls answered (None: no
        calls; inf: beyond the last bucket)."""
        total = sum(self.latency_buckets.values())
        if not total:
            return None
        seen = 0
        for bound in LATENCY_BUCKETS_MS:
            seen += self.latency_buckets.get(f"le_{bound}", 0)
            if seen >= q * total:
                return float(bound)
        return math.inf
