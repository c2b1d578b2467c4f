"""Glance's `task.*` notifications from a task's events: types, order and payloads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.events import TaskCreated, TaskFailed, TaskStarted, TaskSucceeded
from catalog.notifications import INFO, Notification, TaskNotifications

CREATED_AT = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
STARTED_AT = CREATED_AT + timedelta(seconds=1)
ENDED_AT = CREATED_AT + timedelta(seconds=5)
EXPIRES_AT = ENDED_AT + timedelta(hours=48)
CREATED = TaskCreated(
    type="api_image_import",
    owner="proj-a",
    image_id=str(uuid.uuid4()),
    user_id="alice",
    request_id="req-1",
    input={"import_req": {"method": {"name": "web-download", "uri": "https://u:secret@x/"}}},
)


def payload(
    task_id: uuid.UUID, status: str, updated_at: str, expires_at: str | None
) -> dict[str, Any]:
    return {
        "id": str(task_id),
        "type": "api_image_import",
        "status": status,
        "result": None,
        "owner": "proj-a",
        "message": None,
        "expires_at": expires_at,
        "created_at": "2026-11-23T10:00:00Z",
        "updated_at": updated_at,
        "deleted": False,
        "deleted_at": None,
    }


def started() -> tuple[TaskNotifications, list[Notification]]:
    task = TaskNotifications.start(uuid.uuid4())
    said = task.advance(CREATED, CREATED_AT)
    said += task.advance(TaskStarted(node_id="node-1"), STARTED_AT)
    return task, said


def test_a_task_is_created_then_processing_with_glances_payload() -> None:
    task, said = started()

    assert said == [
        Notification(
            "task.create", payload(task.stream_id, "pending", "2026-11-23T10:00:00Z", None)
        ),
        Notification(
            "task.processing", payload(task.stream_id, "processing", "2026-11-23T10:00:01Z", None)
        ),
    ]
    assert all(n.priority == INFO for n in said)
    assert "secret" not in str(said)  # the input is never sent


def test_a_success_then_run_with_the_task_as_it_was_created() -> None:
    task, said = started()

    ended = task.advance(TaskSucceeded(result={"image_id": "i"}, expires_at=EXPIRES_AT), ENDED_AT)

    assert ended == [
        Notification(
            "task.success",
            payload(task.stream_id, "success", "2026-11-23T10:00:05Z", "2026-11-25T10:00:05Z"),
        ),
        Notification("task.run", said[0].payload),
    ]
    assert task.ended


def test_a_failure_then_run() -> None:
    task, said = started()

    ended = task.advance(TaskFailed(message="no data", expires_at=EXPIRES_AT), ENDED_AT)

    assert [n.event_type for n in ended] == ["task.failure", "task.run"]
    failure = ended[0].payload
    assert isinstance(failure, dict)
    assert failure["status"] == "failure"
    assert failure["message"] is None  # Glance leaves the message out, as the result
    assert failure["expires_at"] == "2026-11-25T10:00:05Z"
    assert ended[1].payload == said[0].payload
