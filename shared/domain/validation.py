"""The one conversion from pydantic's errors to `FieldProblem`s an operator can act on, and the
one way a settings map of `control_plane/config` is loaded with per-setting fallbacks.

Messages are pydantic's own, minus its "Value error, " prefix; a model-level error written as
"field: message" is attributed to that field. Input values are never copied into a message,
unless a caller asks for them, so a document holding a secret cannot leak through one.

Each problem also carries its message as a `Phrase` where it is known (pydantic's usual
errors, and a validator that raises `Refusal`), so the app says it in the operator's language
(`problem_text`); field names stay as they are, since they are what the operator edits.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.domain.errors import FieldProblem
from shared.domain.language import ENGLISH, N_, Phrase, Translate

__all__ = [
    "Refusal",
    "field_problems",
    "load_section",
    "problem_lines",
    "problem_text",
    "problems_phrase",
    "problems_text",
]

Rewrite = Callable[[str, ErrorDetails, str], str]
Settings = TypeVar("Settings", bound=BaseModel)

REQUIRED = Phrase(N_("is required"))
# pydantic's usual errors in its own English (first letter lowered, as a problem list says
# them), with its context's names as placeholders. A message that does not come out the same
# (another pydantic version, a singular) stays as pydantic said it.
PYDANTIC_MESSAGES: dict[str, str] = {
    "string_too_long": N_("string should have at most {max_length} characters"),
    "string_too_short": N_("string should have at least {min_length} characters"),
    "greater_than_equal": N_("input should be greater than or equal to {ge}"),
    "less_than_equal": N_("input should be less than or equal to {le}"),
    "greater_than": N_("input should be greater than {gt}"),
    "less_than": N_("input should be less than {lt}"),
    "multiple_of": N_("input should be a multiple of {multiple_of}"),
    "literal_error": N_("input should be {expected}"),
    "enum": N_("input should be {expected}"),
    "string_pattern_mismatch": N_("string should match pattern '{pattern}'"),
    "int_parsing": N_("input should be a valid integer, unable to parse string as an integer"),
    "int_type": N_("input should be a valid integer"),
    "int_from_float": N_("input should be a valid integer, got a number with a fractional part"),
    "float_parsing": N_("input should be a valid number, unable to parse string as a number"),
    "float_type": N_("input should be a valid number"),
    "finite_number": N_("input should be a finite number"),
    "bool_parsing": N_("input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("input should be a valid boolean"),
    "string_type": N_("input should be a valid string"),
    "list_type": N_("input should be a valid list"),
    "dict_type": N_("input should be a valid dictionary"),
    "datetime_type": N_("input should be a valid datetime"),
    "timezone_aware": N_("input should have timezone info"),
    "extra_forbidden": N_("extra inputs are not permitted"),
}


def lowered(message: str) -> str:
    """`Input should…` -> `input should…`: how a problem reads after its field name."""
    return message[:1].lower() + message[1:]


class Refusal(ValueError):
    """A validator's refusal as a phrase. pydantic keeps the exception in its error, so
    `field_problems` hands the phrase on; the exception's own text is the English.

    `field` names the field a model-level check refuses: the text reads `vod_id: <phrase>`,
    which `field_problems` files under `vod_id` (and says as `vod_id: ...` when the model sits
    inside another, where the name stays in the message)."""

    def __init__(self, phrase: Phrase, *, field: str = "") -> None:
        self.phrase = phrase
        self.field = field
        said = phrase.say(ENGLISH)
        super().__init__(f"{field}: {said}" if field else said)


def problem_text(problem: FieldProblem, t: Translate) -> str:
    """A problem's message in the language of `t` (a message without a phrase is looked up
    in the catalog as it is)."""
    return problem.said.say(t) if problem.said is not None else t(problem.message)


def problems_text(problems: Iterable[FieldProblem], t: Translate) -> str:
    """`field: message; field: message`, the messages in the language of `t`."""
    return "; ".join(f"{problem.field}: {problem_text(problem, t)}" for problem in problems)


def problems_phrase(problems: Sequence[FieldProblem]) -> Phrase:
    """`access_token is required, scopes input should be a valid list` as one phrase: what
    `errors.problem_list` writes, said in any language."""
    said = [
        Phrase(N_("{field} {problem}"), field=p.field, problem=_said(p, lower=True))
        for p in problems
    ]
    return _listed(said, N_("{first}, {then}")) or Phrase(N_("its fields do not parse"))


def problem_lines(problems: Sequence[FieldProblem]) -> Phrase:
    """`field: message; field: message` (an `InvalidInput`'s own text) as one phrase."""
    said = [Phrase(N_("{field}: {problem}"), field=p.field, problem=_said(p)) for p in problems]
    return _listed(said, N_("{first}; {then}")) or Phrase("")


def _said(problem: FieldProblem, *, lower: bool = False) -> Phrase:
    if problem.said is not None:
        return problem.said
    return Phrase(lowered(problem.message) if lower else problem.message)


def _listed(items: list[Phrase], joined: str) -> Phrase | None:
    if not items:
        return None
    listed = items[-1]
    for item in reversed(items[:-1]):
        listed = Phrase(joined, first=item, then=listed)
    return listed


def _phrase(item: ErrorDetails, message: str) -> Phrase | None:
    """The error's message as a phrase, when it is one we know and it says what pydantic
    said (numbers as pydantic wrote them when Babel's English would differ)."""
    context = item.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, Refusal):
        if cause.field and message != cause.phrase.say(ENGLISH):
            return Phrase(N_("{field}: {problem}"), field=cause.field, problem=cause.phrase)
        return cause.phrase
    template = PYDANTIC_MESSAGES.get(item["type"])
    if template is None:
        return None
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if not names.issubset(context):
        return None
    for numbers in (True, False):
        params: dict[str, Any] = {
            name: context[name]
            if numbers and isinstance(context[name], int | float)
            else str(context[name])
            for name in names
        }
        said = Phrase(template, **params)
        if said.say(ENGLISH) == lowered(message):
            return said
    return None


def field_problems(
    error: ValidationError,
    *,
    prefix: str = "",
    default_field: str = "input",
    rewrite: Rewrite | None = None,
    with_input: bool = False,
) -> list[FieldProblem]:
    """One problem per pydantic error; `prefix` names the section (`chat.`), `rewrite` lets a
    model say a type's error its own way (given the field, the error and pydantic's message).
    `with_input` hands the refused value to `rewrite`; never for models that may hold secrets."""
    problems: list[FieldProblem] = []
    for item in error.errors(include_input=with_input, include_url=False):
        loc = ".".join(str(part) for part in item["loc"])
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        if not loc and ": " in message:
            loc, message = message.split(": ", 1)
        said = _phrase(item, message)
        if item["type"] == "missing":
            message, said = REQUIRED.message, REQUIRED
        if rewrite is not None:
            rewritten = rewrite(loc, item, message)
            said = said if rewritten == message else None
            message = rewritten
        problems.append(FieldProblem(f"{prefix}{loc}" if loc else default_field, message, said))
    return problems


def load_section(
    raw: Any,
    defaults: Settings,
    section: str,
    problems_of: Callable[[ValidationError], list[FieldProblem]],
) -> tuple[Settings, list[FieldProblem]]:
    """A stored settings map (`chat`, `approval`) with `defaults` behind it: a bad setting falls
    back to its default and is reported, so a bad stored value never stops a process.
    `problems_of` names each error as the setting (`section.field...`)."""
    if raw is None:
        return defaults, []
    if not isinstance(raw, Mapping):
        not_a_map = Phrase(N_("must be a map of settings; defaults apply"))
        return defaults, [FieldProblem(section, not_a_map.message, not_a_map)]
    data = dict(raw)
    problems: list[FieldProblem] = []
    for _ in range(len(data) + 1):
        try:
            return type(defaults).model_validate(data), problems
        except ValidationError as error:
            found = problems_of(error)
            problems += [_with_default(problem) for problem in found]
            bad = {p.field.removeprefix(f"{section}.").split(".")[0] for p in found}
            if not bad.intersection(data):
                break
            for name in bad:
                data.pop(name, None)
    return defaults, problems


def _with_default(problem: FieldProblem) -> FieldProblem:
    said = Phrase(
        N_("{problem}; the default applies"), problem=problem.said or Phrase(problem.message)
    )
    return FieldProblem(problem.field, f"{problem.message}; the default applies", said)
