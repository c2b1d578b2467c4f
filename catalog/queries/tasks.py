"""Show and list tasks from the tasks view, with Glance's visibility, filters and sorting.

Through the tasks API a caller sees the tasks of their own project (and tasks of no project);
an admin sees every task. An image's tasks are for whoever may see the image, whoever asked
for them. A task past its `expires_at` is gone for everyone, as Glance forgets expired tasks
when they are next listed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from catalog.policy import Viewer
from catalog.projections.tasks import task
from catalog.queries.keyset import Sort, after_marker, full_sort, ordered
from catalog.task import Task

SORT_KEYS = (
    "id",
    "type",
    "status",
    "owner",
    "image_id",
    "user_id",
    "request_id",
    "expires_at",
    "created_at",
    "updated_at",
    "deleted",
    "deleted_at",
)
"""Glance's: the columns of its task table (no task here is ever `deleted`: it is gone)."""
FILTERS = ("type", "status", "owner", "image_id", "user_id", "request_id")
"""The columns a list may ask to equal a value."""
UNFINISHED = ("pending", "processing")

# What a nullable sort key orders by: its value, or one below every value it can have.
_LOWEST: Mapping[str, Any] = {
    "owner": "",
    "user_id": "",
    "request_id": "",
    "image_id": uuid.UUID(int=0),
    "expires_at": datetime(1, 1, 1, tzinfo=UTC),
}
_NEVER_DELETED = ("deleted", "deleted_at")


def sort_expression(key: str) -> sa.ColumnElement[Any]:
    if key in _NEVER_DELETED:
        return sa.literal(0)
    column = task.c[key]
    if key in _LOWEST:
        return sa.func.coalesce(column, sa.literal(_LOWEST[key], column.type))
    return column


@dataclass(frozen=True)
class TaskView:
    """A task as readers see it."""

    id: uuid.UUID
    type: str
    status: str
    owner: str | None
    image_id: uuid.UUID | None
    user_id: str | None
    request_id: str | None
    input: dict[str, Any]
    result: dict[str, Any] | None
    message: str
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TaskQuery:
    limit: int = 25
    marker: uuid.UUID | None = None
    filters: tuple[tuple[str, str], ...] = ()
    """(column of FILTERS, value it must equal)."""
    sort_key: str = "created_at"
    sort_dir: str = "desc"


def view_of_task(task: Task) -> TaskView:
    """The view of a task as its events left it (the one a request just ran): exactly what
    the tasks view holds for it, without reading it back."""
    assert task.type is not None
    assert task.created_at is not None
    assert task.updated_at is not None
    return TaskView(
        id=task.id,
        type=task.type,
        status=str(task.status),
        owner=task.owner,
        image_id=uuid.UUID(task.image_id) if task.image_id else None,
        user_id=task.user_id,
        request_id=task.request_id,
        input=dict(task.input),
        result=task.result,
        message=task.message,
        expires_at=task.expires_at,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


_COLUMNS = [c for c in task.c if c.name != "version"]


def _view(row: sa.Row[Any]) -> TaskView:
    return TaskView(**{c.name: row._mapping[c.name] for c in _COLUMNS})


def _not_expired(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(task.c.expires_at.is_(None), task.c.expires_at > now)


def _present(viewer: Viewer, now: datetime) -> list[sa.ColumnElement[bool]]:
    """Tasks the viewer may see, not expired."""
    conditions = [_not_expired(now)]
    if not viewer.is_admin:
        conditions.append(sa.or_(task.c.owner == viewer.project_id, task.c.owner.is_(None)))
    return conditions


def find_task(
    conn: sa.Connection, task_id: uuid.UUID, viewer: Viewer, now: datetime
) -> TaskView | None:
    """The task, if it exists for the viewer."""
    row = conn.execute(
        sa.select(*_COLUMNS).where(task.c.id == task_id, *_present(viewer, now))
    ).first()
    return None if row is None else _view(row)


def _equals(column: str, value: str) -> sa.ColumnElement[bool]:
    if column == "image_id":
        try:
            return task.c.image_id == uuid.UUID(value)
        except ValueError:
            return sa.false()  # no task is about an image with such an id
    return task.c[column] == value


def list_tasks(
    conn: sa.Connection, viewer: Viewer, query: TaskQuery, now: datetime
) -> list[TaskView]:
    """One page of the tasks the viewer may see."""
    conditions = [*_present(viewer, now), *(_equals(c, v) for c, v in query.filters)]
    sort: Sort = full_sort(((query.sort_key, query.sort_dir),), query.sort_dir)
    if query.marker is not None:
        where = (task.c.id == query.marker, *_present(viewer, now))
        conditions.append(after_marker(conn, sort, sort_expression, query.marker, *where))
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(*conditions)
        .order_by(*ordered(sort, sort_expression))
        .limit(query.limit)
    )
    return [_view(row) for row in rows]


def tasks_of_image(conn: sa.Connection, image_id: uuid.UUID, now: datetime) -> list[TaskView]:
    """The image's tasks, whoever asked for them, oldest first: they are for whoever may see
    the image (Glance's rule), not only for the project that asked."""
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(task.c.image_id == image_id, _not_expired(now))
        .order_by(task.c.created_at, task.c.id)
    )
    return [_view(row) for row in rows]


def unfinished_task_ids(conn: sa.Connection) -> list[uuid.UUID]:
    """Tasks not ended yet (for recovery to find those whose process died)."""
    rows = conn.execute(sa.select(task.c.id).where(task.c.status.in_(UNFINISHED)))
    return list(rows.scalars())
