"""The tasks view: one row per task, answering the tasks API and an image's tasks.

Inline (one event, in the appending transaction) and in a rebuild (a batch of events), the
same fold (`row_after`) is applied to the tasks' current rows and the rows it changed are
written, so the two paths cannot disagree. A row is guarded by its version: an event applies
only to a row older than it, so a replay changes nothing.

A task past its `expires_at` is gone for readers (the queries leave it out); its row is
removed later by `forget_expired`, which the server runs from time to time. The log keeps the
task's events.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence, Set
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from catalog.events import (
    TASK_EVENTS,
    DomainEvent,
    RecordedEvent,
    ReplayEvent,
    TaskCreated,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)
from catalog.projections.base import BatchWrite, RowInserter
from catalog.projections.by_ids import id_batches, one_of_ids
from catalog.projections.per_stream import PerStream
from catalog.projections.schema import JsonDocument, UtcDateTime, metadata

task = sa.Table(
    "task",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("type", sa.String(30), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("image_id", sa.Uuid),
    sa.Column("user_id", sa.String(255)),
    sa.Column("request_id", sa.String(255)),
    sa.Column("input", JsonDocument, nullable=False),
    sa.Column("result", JsonDocument),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "image_id"),
    sa.Index(None, "status"),
    sa.Index(None, "expires_at"),
)

_TASK_EVENTS = frozenset(TASK_EVENTS)

Row = dict[str, Any]


def row_after(
    row: Row | None, task_id: uuid.UUID, version: int, at: datetime, event: DomainEvent
) -> Row | None:
    """The task's row once `event` (version `version`, at `at`) is applied to `row`."""
    if isinstance(event, TaskCreated):
        if row is not None:
            return row  # a replay: the row is already there, maybe newer
        image_id = uuid.UUID(event.image_id) if event.image_id else None
        return {
            "id": task_id,
            "type": event.type,
            "status": "pending",
            "owner": event.owner,
            "image_id": image_id,
            "user_id": event.user_id,
            "request_id": event.request_id,
            "input": dict(event.input),
            "result": None,
            "message": "",
            "expires_at": None,
            "created_at": at,
            "updated_at": at,
            "version": version,
        }
    if row is None or row["version"] >= version:
        return row
    changed: Row = {"version": version, "updated_at": at}
    match event:
        case TaskStarted():
            changed["status"] = "processing"
        case TaskSucceeded():
            changed.update(
                status="success",
                result=dict(event.result),
                message=event.message,
                expires_at=event.expires_at,
            )
        case TaskFailed():
            changed.update(status="failure", message=event.message, expires_at=event.expires_at)
    return {**row, **changed}


class TasksProjection:
    name: str = "tasks"
    tables: tuple[sa.Table, ...] = (task,)

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        if type(event) in _TASK_EVENTS:
            change = (recorded.version, recorded.occurred_at, event)
            _per_stream(task).apply(conn, [(recorded.stream_id, change)])

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        *,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> BatchWrite:
        changes = [
            (e.stream_id, (e.version, e.occurred_at, e.event))
            for e in events
            if type(e.event) in _TASK_EVENTS
        ]
        table = (tables or {}).get(task.name, task)
        return _per_stream(table).prepare(changes, new_streams)


Change = tuple[int, datetime, DomainEvent]
"""An event of a task's stream: its version, when, what."""


class _Writes(NamedTuple):
    added: list[Row]
    changed: list[Row]


@functools.cache
def _per_stream(table: sa.Table) -> PerStream[Row, Change, _Writes]:
    """Changes (task id and change, in log order) folded over the tasks' rows in `table`, then
    the rows that came (added by the `RowInserter`) or changed written."""
    return PerStream(functools.partial(_load, table), _folded, functools.partial(_write, table))


def _folded(
    before: Mapping[uuid.UUID, Row], changes: Sequence[tuple[uuid.UUID, Change]]
) -> _Writes:
    after = dict(before)
    for task_id, (version, at, event) in changes:
        row = row_after(after.get(task_id), task_id, version, at, event)
        if row is not None:
            after[task_id] = row
    added = [row for task_id, row in after.items() if task_id not in before]
    changed = [
        row for task_id, row in after.items() if task_id in before and row != before[task_id]
    ]
    return _Writes(added, changed)


def _write(table: sa.Table, conn: sa.Connection, writes: _Writes, insert: RowInserter) -> None:
    insert(conn, table, writes.added)
    if writes.changed:
        columns: dict[str, Any] = {
            c.name: sa.bindparam(f"new_{c.name}") for c in table.c if c.name != "id"
        }
        conn.execute(
            sa.update(table).where(table.c.id == sa.bindparam("old_id")).values(columns),
            [
                {"old_id": row["id"], **{f"new_{k}": v for k, v in row.items() if k != "id"}}
                for row in writes.changed
            ],
        )


def _load(table: sa.Table, conn: sa.Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Row]:
    postgres = conn.dialect.name == "postgresql"
    query = sa.select(table).where(one_of_ids(table.c.id, postgres))
    loaded: dict[uuid.UUID, Row] = {}
    for batch in id_batches(ids, postgres):
        for row in conn.execute(query, {"ids": list(batch)}):
            loaded[row.id] = dict(row._mapping)
    return loaded


def forget_expired(conn: sa.Connection, now: datetime) -> int:
    """Remove the rows of tasks past their `expires_at` (readers already leave them out);
    how many went."""
    removed = conn.execute(sa.delete(task).where(task.c.expires_at <= now))
    return removed.rowcount
