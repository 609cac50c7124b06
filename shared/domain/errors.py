"""One exception hierarchy for the whole product, mapped to the canonical error codes
(docs/architecture.md §4.3).

Clip failures carry the job's `error_code` (docs/architecture.md §3.2) and an operator
sentence that says what happened and what to do next, so every layer (worker, sweeper, app)
shows the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from enum import StrEnum

from shared.domain.language import ENGLISH, N_, Phrase, Translate


class ErrorCode(StrEnum):
    """Canonical `error_code` values of a failed clip job (docs/architecture.md §3.2)."""

    BAD_REQUEST = "clip_bad_request"
    UNAUTHORIZED = "clip_unauthorized"
    FORBIDDEN = "clip_forbidden"
    NOT_FOUND = "clip_not_found"
    RATE_LIMITED = "clip_rate_limited"
    CREATE_TIMEOUT = "clip_create_timeout"
    UNKNOWN = "clip_unknown"


OPERATOR_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: N_(
        "Twitch refused the clip request as invalid (a bad parameter, a category that cannot "
        "be clipped, or a title AutoMod rejected). Change the title or duration and retry."
    ),
    ErrorCode.UNAUTHORIZED: N_(
        "Twitch did not accept the clipping token (expired, revoked, wrong client id or "
        "missing the clip scope). Reconnect Twitch on the Connect Twitch page, then retry."
    ),
    ErrorCode.FORBIDDEN: N_(
        "Twitch does not let this account clip this channel (clips disabled or limited to "
        "followers/subscribers, account banned or timed out, or not an editor). Fix the "
        "channel's clip settings or the editor role, then retry."
    ),
    ErrorCode.NOT_FOUND: N_(
        "Twitch could not find what the clip needs: the channel is not live (live clips need a "
        "live channel) or the VOD does not exist. For a past moment, make a VOD clip instead."
    ),
    ErrorCode.RATE_LIMITED: N_(
        "Twitch kept answering 'too many requests' and the retry limit was reached. Wait a "
        "minute, then retry."
    ),
    ErrorCode.CREATE_TIMEOUT: N_(
        "Twitch accepted the clip but it did not appear within 15 seconds. Open the edit link "
        "to check it; retry only if it never shows up on the channel."
    ),
    ErrorCode.UNKNOWN: N_(
        "Talking to Twitch failed unexpectedly (server error, timeout or lost worker). Check "
        "the channel's clips on Twitch before retrying so the moment is not clipped twice."
    ),
}


def operator_message(code: ErrorCode, t: Translate = ENGLISH) -> str:
    """The sentence an operator sees for a failed job with this code, in the language of `t`."""
    return t(OPERATOR_MESSAGES[code])


class ByteClipsError(Exception):
    """Base of every error this product raises on purpose."""

    code: str = "byte_clips_error"


@dataclass(frozen=True)
class FieldProblem:
    """One refused field of an input, named so the operator can fix exactly that."""

    field: str
    message: str
    # The message as a phrase, when known (shared.domain.validation), said in the operator's
    # language by the app; `message` stays the English.
    said: Phrase | None = dataclass_field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidInput(ByteClipsError):
    """Input refused before anything was written; every problem names its field."""

    code = "invalid_input"

    def __init__(self, what: str, problems: list[FieldProblem]) -> None:
        self.what = what
        self.problems = problems
        details = "; ".join(str(p) for p in problems)
        super().__init__(f"invalid {what}: {details}")

    @property
    def fields(self) -> list[str]:
        return [p.field for p in self.problems]


class CandidateInvalid(InvalidInput):
    """A clip candidate that breaks a docs/architecture.md §3.1 rule."""

    code = "candidate_invalid"

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("clip candidate", problems)


class ConfigInvalid(InvalidInput):
    """A control-plane change that breaks a docs/architecture.md §3.3 rule."""

    code = "config_invalid"

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("control-plane config", problems)


class NotFound(ByteClipsError):
    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} does not exist")


class ActionAlreadyDecided(ByteClipsError):
    """Approve/reject/expire of a queue item someone (or something) already decided."""

    code = "action_already_decided"

    def __init__(self, action_id: str, status: str, by: str | None = None) -> None:
        self.action_id = action_id
        self.status = status
        # Who decided, when the decision record says (a second decider is told who was first).
        self.by = by
        who = f" by {by}" if by else ""
        super().__init__(
            f"action {action_id!r} was already decided ({status}){who}; refresh the queue to see it"
        )


class TransitionRefused(ByteClipsError):
    """A job status change that the state machine (docs/architecture.md §4.2) does not allow."""

    code = "transition_refused"

    def __init__(self, job_id: str | None, current: str, target: str, why: str = "") -> None:
        self.job_id = job_id
        self.current = current
        self.target = target
        suffix = f": {why}" if why else ""
        super().__init__(f"job {job_id!r} cannot go from {current!r} to {target!r}{suffix}")


class LeaseLost(ByteClipsError):
    """The caller does not (or no longer) hold the job's lease."""

    code = "lease_lost"

    def __init__(self, job_id: str, holder: str) -> None:
        self.job_id = job_id
        self.holder = holder
        super().__init__(f"worker {holder!r} does not hold the lease of job {job_id!r}")


class RetryLimitReached(ByteClipsError):
    """A manual retry past the configured limit."""

    code = "retry_limit_reached"

    def __init__(self, job_id: str, limit: int) -> None:
        self.job_id = job_id
        self.limit = limit
        super().__init__(
            f"job {job_id!r} was already retried {limit} times (the limit); "
            "approve a new candidate for this moment instead"
        )


class ClipError(ByteClipsError):
    """A failed clip call: the canonical code, Twitch's status and message, and 429's reset."""

    error_code: ErrorCode = ErrorCode.UNKNOWN

    def __init__(
        self,
        twitch_message: str = "",
        *,
        http_status: int | None = None,
        reset_at: datetime | None = None,
        detail: str = "",
    ) -> None:
        self.http_status = http_status
        self.twitch_message = twitch_message
        self.reset_at = reset_at
        self.detail = detail
        # Set when the retry policy would try again at that time but the caller must schedule it.
        self.retry_at: datetime | None = None
        parts = [f"HTTP {http_status}" if http_status is not None else "no HTTP answer"]
        if twitch_message:
            parts.append(f"Twitch said: {twitch_message}")
        if detail:
            parts = [detail] if http_status is None else [*parts, detail]
        super().__init__(f"{self.error_code.value}: {'; '.join(parts)}")

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.error_code.value

    @property
    def operator_message(self) -> str:
        return operator_message(self.error_code)

    @property
    def operator_phrase(self) -> Phrase:
        """`operator_message` as a phrase, for a page or a job to say in the channel's
        language."""
        return Phrase(OPERATOR_MESSAGES[self.error_code])


class ClipBadRequest(ClipError):
    error_code = ErrorCode.BAD_REQUEST


class ClipUnauthorized(ClipError):
    error_code = ErrorCode.UNAUTHORIZED


class ClipForbidden(ClipError):
    error_code = ErrorCode.FORBIDDEN


class ClipNotFound(ClipError):
    error_code = ErrorCode.NOT_FOUND


class ClipRateLimited(ClipError):
    error_code = ErrorCode.RATE_LIMITED


class ClipCreateTimeout(ClipError):
    error_code = ErrorCode.CREATE_TIMEOUT


class ClipUnknown(ClipError):
    error_code = ErrorCode.UNKNOWN


class StoredTokenUnusable(ClipUnauthorized):
    """A `twitch_tokens` document that cannot serve as it is. Its sentence names the document
    and the fix, and is what the job and the operator see; no token value ever goes in it.

    The sentence is a phrase, said in the channel's language where it is shown
    (`operator_phrase`, `phrase`); `detail` and `str()` keep the English for logs."""

    def __init__(self, sentence: Phrase) -> None:
        self.sentence = sentence
        super().__init__(detail=sentence.say(ENGLISH))

    @property
    def operator_message(self) -> str:
        return self.detail

    @property
    def operator_phrase(self) -> Phrase:
        return self.sentence

    @property
    def phrase(self) -> Phrase:
        """`str(error)` as a phrase: `clip_unauthorized: <the sentence>`."""
        return Phrase(N_("{code}: {message}"), code=self.code, message=self.sentence)


class StoredTokenUnreadable(StoredTokenUnusable):
    """The stored token document does not parse (a field missing or of the wrong type)."""

    def __init__(self, user_id: str, problems: list[FieldProblem]) -> None:
        self.user_id = user_id
        self.problems = problems
        super().__init__(
            Phrase(
                N_(
                    "The stored Twitch token for user {user} is unreadable: {problems}; "
                    "reconnect Twitch"
                ),
                user=user_id,
                problems=_listed(problems),
            )
        )


class TokenNotRefreshable(StoredTokenUnusable):
    """The stored token works for calls but has nothing to renew it with; `why` is a phrase
    (`Phrase(N_("the document has no refresh_token"))`)."""

    def __init__(self, user_id: str, why: Phrase) -> None:
        self.user_id = user_id
        super().__init__(
            Phrase(
                N_(
                    "The stored Twitch token for user {user} cannot be renewed: {why}; "
                    "reconnect Twitch"
                ),
                user=user_id,
                why=why,
            )
        )


class StoredDocumentUnreadable(ByteClipsError):
    """A stored document (not a token) that does not parse; the message names the document,
    the refused fields and the fix, never the values.

    `fix` is a catalog message (marked with `N_` where it is written), so `phrase` says the
    whole sentence in the channel's language; `str()` is the English."""

    code = "stored_document_unreadable"

    def __init__(self, path: str, problems: list[FieldProblem], fix: str) -> None:
        self.path = path
        self.problems = problems
        self.phrase = Phrase(
            N_("The stored document {path} is unreadable: {problems}; {fix}"),
            path=path,
            problems=_listed(problems),
            fix=Phrase(fix),
        )
        super().__init__(self.phrase.say(ENGLISH))


def _listed(problems: list[FieldProblem]) -> Phrase:
    """`shared.domain.validation.problems_phrase`; that module imports this one (for
    `FieldProblem`), so it is imported when first needed."""
    from shared.domain.validation import problems_phrase

    return problems_phrase(problems)


def problem_list(problems: list[FieldProblem]) -> str:
    """`access_token is required, scopes input should be a valid list`: fields and rules only."""
    return _listed(problems).say(ENGLISH)


CLIP_ERRORS: dict[ErrorCode, type[ClipError]] = {
    cls.error_code: cls
    for cls in (
        ClipBadRequest,
        ClipUnauthorized,
        ClipForbidden,
        ClipNotFound,
        ClipRateLimited,
        ClipCreateTimeout,
        ClipUnknown,
    )
}
