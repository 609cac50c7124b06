"""The one conversion from pydantic's errors to `FieldProblem`s an operator can act on.

Messages are pydantic's own, minus its "Value error, " prefix; a model-level error written as
"field: message" is attributed to that field. Input values are never copied into a message,
unless a caller asks for them, so a document holding a secret cannot leak through one.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from shared.domain.errors import FieldProblem

__all__ = ["field_problems"]

Rewrite = Callable[[str, ErrorDetails, str], str]


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
