"""Mistakes and outages an operator fixes, told in one line each instead of a traceback.

`catalog` prints an `OperatorError`'s lines and exits with status 1. Settings are read from
`CATALOG_*` variables by pydantic; `SettingsError.of` turns pydantic's validation errors into
lines that name the variable and what it accepts (`CATALOG_API_WORKERS: must be at least 1`).
Values are never repeated back: a mistyped variable may hold a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


class OperatorError(Exception):
    """Something only the operator can fix; each line says what and where."""

    def __init__(self, lines: str | Sequence[str]) -> None:
        self.lines = (lines,) if isinstance(lines, str) else tuple(lines)
        super().__init__("\n".join(self.lines))


class SettingsError(OperatorError):
    """Settings that cannot be used: one line per mistake, each naming its variable."""

    @classmethod
    def of(cls, error: ValidationError, model: type[BaseModel], env_prefix: str) -> SettingsError:
        """The mistakes pydantic found in `model`'s values, read from `env_prefix` variables."""
        return cls([_line(details, model, env_prefix) for details in error.errors()])

    @classmethod
    def joined(cls, errors: Iterable[SettingsError]) -> SettingsError:
        return cls([line for error in errors for line in error.lines])


def in_words(error: BaseException) -> str:
    """The innermost cause of `error` in its own words, on one line (a driver's, without
    SQLAlchemy's wrapping): `ConnectionRefusedError: [Errno 111] Connect call failed …`."""
    while error.__cause__ is not None:
        error = error.__cause__
    first_line = str(error).strip().splitlines()[:1]
    return ": ".join([type(error).__name__, *first_line])


def variable(env_prefix: str, field: str) -> str:
    return f"{env_prefix}{field}".upper()


def _line(details: ErrorDetails, model: type[BaseModel], env_prefix: str) -> str:
    field, *inside = [str(part) for part in details["loc"]] or [""]
    where = f" ({'.'.join(inside)})" if inside else ""
    annotation = model.model_fields[field].annotation if field in model.model_fields else None
    return f"{variable(env_prefix, field)}{where}: {_accepts(details, annotation)}"


def _choices(annotation: Any) -> list[str]:
    """The values a `Literal[...]` (possibly optional) annotation allows."""
    if get_origin(annotation) is Literal:
        return [str(choice) for choice in get_args(annotation)]
    return [choice for arg in get_args(annotation) for choice in _choices(arg)]


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _accepts(details: ErrorDetails, annotation: Any) -> str:
    kind, context = details["type"], details.get("ctx", {})
    match kind:
        case "literal_error" | "enum":
            return f"must be one of {', '.join(_choices(annotation))}"
        case "int_parsing" | "int_type" | "int_from_float":
            return "must be a whole number"
        case "float_parsing" | "float_type" | "finite_number":
            return "must be a number"
        case "bool_parsing" | "bool_type":
            return "must be true or false"
        case "greater_than":
            return f"must be greater than {_number(context['gt'])}"
        case "greater_than_equal":
            return f"must be at least {_number(context['ge'])}"
        case "less_than":
            return f"must be less than {_number(context['lt'])}"
        case "less_than_equal":
            return f"must be at most {_number(context['le'])}"
        case "extra_forbidden":
            return "is not a name this setting knows"
        case "dict_type" | "model_type" | "model_attributes_type":
            return "must be a JSON object"
        case "missing":
            return "must be set"
        case "value_error" | "assertion_error":
            return str(context.get("error", details["msg"]))
    message = details["msg"]
    return message[:1].lower() + message[1:]
