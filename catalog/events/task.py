"""The events of a task's life: work the catalog does for a request (an import, a location
import), recorded on the task's own stream beside the events of the image it works on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from catalog.events.base import DomainEvent


class TaskEvent(DomainEvent):
    """An event of a task's stream."""

    aggregate = "tasks"


class TaskCreated(TaskEvent):
    """A task exists and waits to run (status `pending`). Who asked for it and through which
    request are part of the task (Glance shows them), not only of the event's metadata."""

    event_type = "task.created"

    type: str
    """`import` (the tasks API), `api_image_import` (an image import), `location_import`."""
    owner: str | None
    image_id: str | None = None
    user_id: str | None = None
    request_id: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)


class TaskStarted(TaskEvent):
    """The task runs (status `processing`) in process `node_id`: recovery fails it once that
    process is gone."""

    event_type = "task.started"

    node_id: str | None = None


class TaskSucceeded(TaskEvent):
    """The task's work is done (status `success`); it is forgotten after `expires_at`."""

    event_type = "task.succeeded"

    result: dict[str, Any] = Field(default_factory=dict)
    message: str = ""
    expires_at: datetime


class TaskFailed(TaskEvent):
    """The task's work ended without doing what it was for (status `failure`); `message`
    says why. It is forgotten after `expires_at`."""

    event_type = "task.failed"

    message: str
    expires_at: datetime


TASK_EVENTS: tuple[type[DomainEvent], ...] = (TaskCreated, TaskStarted, TaskSucceeded, TaskFailed)
"""Every event of a task's stream."""
