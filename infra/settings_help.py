"""The settings a command reads, described for its `--help` from the settings classes
themselves: each variable, its default and its field's docstring, so help cannot drift from
what is read."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from infra.operator_errors import variable
from infra.settings import concerns
from infra.store_options import OPTIONS_OF_DRIVER, StoreOptions

WIDTH = 100
INDENT = " " * 6


@dataclass(frozen=True)
class Reads:
    """A concern a command reads (a `Settings` field's name), or only some of its fields."""

    concern: str
    only: tuple[str, ...] = ()


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None or value is PydanticUndefined:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | Path | int | float):
        return "empty" if value == "" else str(value)
    return str(value)


def _described(name: str, field: FieldInfo, suffix: str = "") -> str:
    head = f"  {name} (default: {_default(field)}){suffix}"
    text = " ".join((field.description or "").split())
    if not text:
        return head
    body = textwrap.fill(text, WIDTH, initial_indent=INDENT, subsequent_indent=INDENT)
    return f"{head}\n{body}"


def _fields(
    model: type[BaseModel], only: Sequence[str] = (), *, besides: type[BaseModel] | None = None
) -> list[tuple[str, FieldInfo]]:
    """`model`'s fields (those in `only`, if given; not those of `besides`) read from the
    environment."""
    skipped = besides.model_fields if besides is not None else {}
    return [
        (name, field)
        for name, field in model.model_fields.items()
        if not field.exclude and (not only or name in only) and name not in skipped
    ]


def settings_help(reads: Sequence[Reads], *, stores: bool = False) -> str:
    """The `--help` epilog listing what `reads` names (and every store's options)."""
    models = concerns()
    lines = ["settings (environment variables):"]
    for read in reads:
        model = models[read.concern]
        prefix = model.model_config.get("env_prefix", "")
        for name, field in _fields(model, read.only):
            lines.append(_described(variable(prefix, name), field))
    if stores:
        lines.append("each store's options, by store name and driver:")
        store = "CATALOG_STORE_<NAME>_"
        for name, field in _fields(StoreOptions):
            lines.append(_described(variable(store, name), field, " every driver"))
        for driver, options in OPTIONS_OF_DRIVER.items():
            for name, field in _fields(options, besides=StoreOptions):
                lines.append(_described(variable(store, name), field, f" {driver}"))
    return "\n".join(lines)
