"""Snapshots: an aggregate's state at one version of its stream, so that loading it reads the
snapshot and the events after it, not its whole stream.

A snapshot is derived data, never a source of truth: it is kept only with the `fingerprint` of
the code that made it, a digest of the source of the aggregate's module and of every module of
the catalog it imports (its events, their upcasters, this codec). Any change there, to `apply`,
to an event's schema, to an upcaster, makes every older snapshot unusable: it is not read, and
a new one is taken from the events. So a snapshot may be missing or stale, never wrong.

The state is the aggregate's attributes (but its stream, version and undecided events), written
as JSON with each value's type: events as the log stores them, frozen dataclasses and enums of
the catalog by their names, and the containers and scalars they hold. A value of any other type
is refused when the snapshot is taken (`SnapshotUnsupported`), not silently changed.

No I/O but reading the catalog's own source, once, for the fingerprint. Where snapshots are
kept is the `Snapshots` port's business.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import hashlib
import importlib
import importlib.util
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from catalog.aggregate import EventSourced
from catalog.events import DomainEvent, decode, encode

A = TypeVar("A", bound=EventSourced)

_NOT_STATE = frozenset({"id", "version", "pending"})
"""The aggregate's attributes a snapshot does not hold: its stream and version are the
snapshot's own, and what it decided but did not append is not in the log."""


class SnapshotUnsupported(TypeError):
    """A value in an aggregate's state that snapshots cannot hold faithfully."""


@dataclass(frozen=True)
class Snapshot:
    stream_id: uuid.UUID
    version: int
    """The stream's version the state reflects: every event up to it, none after."""
    occurred_at: datetime
    """The latest time among the events it reflects: a state asked for at a time before it
    (`as_of`) cannot start from this snapshot."""
    kind: str
    """The aggregate's class (`Image`, `Task`, `Namespace`)."""
    fingerprint: str
    state: dict[str, Any]


class Snapshots(Protocol):
    """Where snapshots are kept (derived data: losing them costs time, nothing else)."""

    async def latest(
        self,
        stream_id: uuid.UUID,
        kind: str,
        fingerprint: str,
        *,
        at_or_before: datetime | None = None,
    ) -> Snapshot | None:
        """The snapshot of the highest version of this stream made by this code
        (`fingerprint`), if any; only among those whose events all happened at or before
        `at_or_before`, when given."""
        ...

    async def save(self, snapshot: Snapshot) -> None:
        """Keep `snapshot`, replacing one of the same stream and version; snapshots of the
        stream made by other code go."""
        ...


def take(aggregate: EventSourced, occurred_at: datetime) -> Snapshot:
    """A snapshot of `aggregate` as its stream left it (nothing pending)."""
    assert not aggregate.pending, "only a state the log holds is snapshotted"
    kind = type(aggregate)
    state = {
        name: _encoded(value) for name, value in vars(aggregate).items() if name not in _NOT_STATE
    }
    return Snapshot(
        aggregate.id, aggregate.version, occurred_at, kind.__name__, fingerprint(kind), state
    )


def restore(kind: type[A], snapshot: Snapshot) -> A:
    """The aggregate the snapshot was taken of, at its version."""
    if snapshot.kind != kind.__name__ or snapshot.fingerprint != fingerprint(kind):
        raise ValueError(f"not a snapshot of {kind.__name__} made by this code")
    aggregate = kind(snapshot.stream_id)
    expected = set(vars(aggregate)) - _NOT_STATE
    if set(snapshot.state) != expected:  # the fingerprint rules this out; a guard all the same
        raise ValueError(f"a snapshot's state does not match {kind.__name__}'s attributes")
    for name, value in snapshot.state.items():
        setattr(aggregate, name, _decoded(value))
    aggregate.version = snapshot.version
    return aggregate


def fingerprint(kind: type) -> str:
    """A digest of the code that folds `kind`'s events (an aggregate, or any other fold kept
    outside the process): its module and every module of the catalog it imports, transitively,
    and this one."""
    return _fingerprint_of(kind.__module__)


@cache
def _fingerprint_of(module: str) -> str:
    digest = hashlib.sha256()
    for name in sorted(_catalog_imports(module) | {__name__}):
        digest.update(name.encode())
        digest.update(_source(name))
    return digest.hexdigest()


def _source(module: str) -> bytes:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).read_bytes()


def _catalog_imports(start: str) -> set[str]:
    """`start` and the modules of the `catalog` package it imports, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        tree = ast.parse(_source(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names if _ours(alias.name)]
            elif isinstance(node, ast.ImportFrom) and node.module and _ours(node.module):
                todo.append(node.module)
                # `from catalog.events import image` names a module, not a value.
                if _is_package(node.module):
                    todo += [
                        f"{node.module}.{alias.name}"
                        for alias in node.names
                        if importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                    ]
        todo += [parent for parent in _parents(module) if parent not in seen]
    return seen


def _ours(module: str) -> bool:
    return module == "catalog" or module.startswith("catalog.")


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


def _parents(module: str) -> list[str]:
    """A module's packages, whose `__init__` runs first."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


# -- the codec ------------------------------------------------------------------------------------


def _encoded(value: Any) -> Any:
    if isinstance(value, Enum):  # first: a StrEnum is a str too
        return {"enum": _name_of(type(value)), "value": _encoded(value.value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, DomainEvent):
        return {"event": value.event_type, "data": encode(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encoded(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"dataclass": _name_of(type(value)), "fields": fields}
    if isinstance(value, BaseModel):
        return {"model": _name_of(type(value)), "data": value.model_dump(mode="json")}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, timedelta):
        return {"timedelta": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return [_encoded(item) for item in value]
    if isinstance(value, tuple):
        return {"tuple": [_encoded(item) for item in value]}
    if isinstance(value, set | frozenset):
        items = sorted((_encoded(item) for item in value), key=repr)
        return {"frozenset" if isinstance(value, frozenset) else "set": items}
    if isinstance(value, dict):
        return {"dict": [[_encoded(k), _encoded(v)] for k, v in value.items()]}
    raise SnapshotUnsupported(f"a snapshot cannot hold a {type(value).__qualname__}")


def _decoded(value: Any) -> Any:
    if not isinstance(value, dict | list):
        return value
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    [(tag, content)] = [(k, v) for k, v in value.items() if k not in ("data", "fields", "value")]
    match tag:
        case "event":
            event_class_version = _current_schema(content)
            return decode(content, event_class_version, value["data"])
        case "enum":
            return _class_named(content, Enum)(_decoded(value["value"]))
        case "dataclass":
            fields = {name: _decoded(item) for name, item in value["fields"].items()}
            return _class_named(content, None)(**fields)
        case "model":
            return _class_named(content, BaseModel).model_validate(value["data"])
        case "datetime":
            return datetime.fromisoformat(content)
        case "timedelta":
            days, seconds, microseconds = content
            return timedelta(days=days, seconds=seconds, microseconds=microseconds)
        case "uuid":
            return uuid.UUID(content)
        case "bytes":
            return base64.b64decode(content)
        case "tuple":
            return tuple(_decoded(item) for item in content)
        case "set":
            return {_decoded(item) for item in content}
        case "frozenset":
            return frozenset(_decoded(item) for item in content)
        case "dict":
            return {_decoded(k): _decoded(v) for k, v in content}
    raise ValueError(f"not a snapshot value: {tag!r}")


def _current_schema(event_type: str) -> int:
    from catalog.events.registry import EVENT_TYPES

    return EVENT_TYPES[event_type].schema_version


def _name_of(cls: type) -> str:
    if not _ours(cls.__module__):
        raise SnapshotUnsupported(f"a snapshot holds only the catalog's own types, not {cls}")
    return f"{cls.__module__}:{cls.__qualname__}"


def _class_named(name: str, base: type | None) -> Any:
    """The catalog's class called `name` (`module:qualname`): only the catalog's own, and only
    of the expected sort, so that a snapshot can never name arbitrary code."""
    module, _, qualname = name.partition(":")
    if not _ours(module):
        raise ValueError(f"a snapshot names a class outside the catalog: {name}")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    sort_ok = dataclasses.is_dataclass(found) if base is None else issubclass(found, base)
    if not isinstance(found, type) or not sort_ok:
        raise ValueError(f"a snapshot names a class it cannot hold: {name}")
    return found
