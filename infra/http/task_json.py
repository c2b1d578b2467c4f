"""Tasks as Glance's API shows them: whole (`GET /v2/tasks/{id}`, the answer to a create), as
a list's stub (`GET /v2/tasks`), and as an image's tasks list them (`GET /v2/images/{id}/tasks`,
Glance's database rows as they are, with microseconds and no zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.queries.tasks import TaskView
from infra.http.image_json import timestamp


def _href(task: TaskView) -> str:
    return f"/v2/tasks/{task.id}"


def _stub(task: TaskView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(task.id),
        "type": task.type,
        "status": str(task.status),
        "owner": task.owner,
        "created_at": timestamp(task.created_at),
        "updated_at": timestamp(task.updated_at),
        "self": _href(task),
        "schema": "/v2/schemas/task",
    }
    if task.expires_at is not None:
        body["expires_at"] = timestamp(task.expires_at)
    return body


def task_json(task: TaskView) -> dict[str, Any]:
    """The whole task: with its input, result and message, and who asked for it."""
    body = {
        **_stub(task),
        "input": task.input,
        "result": task.result,
        "message": task.message,
    }
    for name in ("image_id", "request_id", "user_id"):
        value = getattr(task, name)
        if value:
            body[name] = str(value)
    return body


def task_stub_json(task: TaskView) -> dict[str, Any]:
    """A task in a list: without its input, result and message."""
    return _stub(task)


def _row_time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def image_task_json(task: TaskView) -> dict[str, Any]:
    """A task of an image, as Glance lists its row."""
    return {
        "id": str(task.id),
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "expires_at": _row_time(task.expires_at),
        "created_at": _row_time(task.created_at),
        "updated_at": _row_time(task.updated_at),
        "deleted_at": None,
        "deleted": False,
        "image_id": None if task.image_id is None else str(task.image_id),
        "request_id": task.request_id,
        "user_id": task.user_id,
        "input": task.input,
        "result": task.result,
        "message": task.message,
    }
