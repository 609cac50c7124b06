"""The one conversion from pydantic's errors to `FieldProblem`s an operator can act on, and the
one way a settings map of `control_plane/config` is loaded with per-setting fallbacks.

Messages are pydantic's own, minus its "Value error, " prefix; a model-level error written as
"field: message" is attributed to that field. Input values are never copied into a message,
unless a caller asks for them, so a document holding a secret cannot leak through one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.domain.errors import FieldProblem

__all__ = ["field_problems", "load_section"]

Rewrite = Callable[[str, ErrorDetails, str], str]
Settings = TypeVar("Settings", bound=BaseModel)


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
        if item["type"] == "missing":
            message = "is required"
        if rewrite is not None:
            message = rewrite(loc, item, message)
        problems.append(FieldProblem(f"{prefix}{loc}" if loc else default_field, message))
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
        return defaults, [FieldProblem(section, "must be a map of settings; defaults apply")]
    data = dict(raw)
    problems: list[FieldProblem] = []
    for _ in range(len(data) + 1):
        try:
            return type(defaults).model_validate(data), problems
        except ValidationError as error:
            found = problems_of(error)
            problems += [FieldProblem(p.field, f"{p.message}; the default applies") for p in found]
            bad = {p.field.removeprefix(f"{section}.").split(".")[0] for p in found}
            if not bad.intersection(data):
                break
            for name in bad:
                data.pop(name, None)
    return defaults, problems
