"""The Task aggregate: work the catalog does for a request, as Glance's tasks show it.

An import, a copy into more stores, a location import and the tasks API's own `import` each run
as a task: created (`pending`), started (`processing`, by one process), then ended (`success`
with a result, or `failure` with a message) and forgotten `time_to_live` after it ended. The
task records what happened to its work; the image it worked on records its own changes on its
own stream.

Pure: no I/O, no clock. Command methods check the status machine (Glance's:
pending → processing | failure, processing → success | failure) and record events; state
changes only in `apply`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from catalog.aggregate import EventSourced
from catalog.errors import Conflict
from catalog.events import (
    DomainEvent,
    TaskCreated,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)


class TaskStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILURE = "failure"


class TaskType(StrEnum):
    IMPORT = "import"
    """The tasks API's import (`POST /v2/tasks`): a new image from data at a URL."""
    API_IMAGE_IMPORT = "api_image_import"
    """An interoperable image import (`POST /v2/images/{id}/import`): glance-direct,
    copy-image."""
    LOCATION_IMPORT = "location_import"
    """Data already in a store attached to an image (`POST /v2/images/{id}/locations`)."""


ENDED = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE})
_NEXT: dict[TaskStatus | None, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.PROCESSING, TaskStatus.FAILURE}),
    TaskStatus.PROCESSING: ENDED,
}


class InvalidTaskTransition(Conflict):
    """The task's status does not allow what was asked (e.g. it already ended)."""

    def __init__(self, task_id: uuid.UUID, current: str | None, target: str) -> None:
        super().__init__(
            f"Task {task_id} status transition from {current} to {target} is not allowed"
        )


class Task(EventSourced):
    """One task's state, rebuilt from its events."""

    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(task_id)
        self.status: TaskStatus | None = None
        self.type: str | None = None
        self.owner: str | None = None
        self.image_id: str | None = None
        self.user_id: str | None = None
        self.request_id: str | None = None
        self.input: dict[str, Any] = {}
        self.result: dict[str, Any] | None = None
        self.message = ""
        self.node_id: str | None = None
        """The process running the task, once it started."""
        self.expires_at: datetime | None = None
        self.created_at: datetime | None = None
        self.updated_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    # -- commands ------------------------------------------------------------------------------

    @classmethod
    def create(cls, task_id: uuid.UUID, created: TaskCreated, now: datetime) -> Task:
        task = cls(task_id)
        task._record(created, now)
        return task

    def start(self, node_id: str | None, now: datetime) -> None:
        """pending → processing, in process `node_id`."""
        self._require_next(TaskStatus.PROCESSING)
        self._record(TaskStarted(node_id=node_id), now)

    def succeed(
        self, result: dict[str, Any], message: str, time_to_live: timedelta, now: datetime
    ) -> None:
        """processing → success; the task is forgotten `time_to_live` from now."""
        self._require_next(TaskStatus.SUCCESS)
        ended = TaskSucceeded(result=result, message=message, expires_at=now + time_to_live)
        self._record(ended, now)

    def fail(self, message: str, time_to_live: timedelta, now: datetime) -> None:
        """pending or processing → failure; forgotten `time_to_live` from now."""
        self._require_next(TaskStatus.FAILURE)
        self._record(TaskFailed(message=message, expires_at=now + time_to_live), now)

    def abandoned(self, live_nodes: frozenset[str]) -> bool:
        """Whether the task runs in a process that no longer does."""
        return self.status is TaskStatus.PROCESSING and self.node_id not in live_nodes

    def _require_next(self, target: TaskStatus) -> None:
        if target not in _NEXT.get(self.status, frozenset()):
            raise InvalidTaskTransition(self.id, self.status, target)

    # -- state -----------------------------------------------------------------------------------

    def apply(self, event: DomainEvent, at: datetime) -> None:
        """Change state by one event. Never raises for an event that is in the log."""
        match event:
            case TaskCreated():
                self.status = TaskStatus.PENDING
                self.type = event.type
                self.owner = event.owner
                self.image_id = event.image_id
                self.user_id = event.user_id
                self.request_id = event.request_id
                self.input = dict(event.input)
                self.created_at = at
            case TaskStarted():
                self.status = TaskStatus.PROCESSING
                self.node_id = event.node_id
            case TaskSucceeded():
                self.status = TaskStatus.SUCCESS
                self.result = dict(event.result)
                self.message = event.message
                self.expires_at = event.expires_at
            case TaskFailed():
                self.status = TaskStatus.FAILURE
                self.message = event.message
                self.expires_at = event.expires_at
            case _:
                raise LookupError(f"Task cannot apply {type(event).__name__}")
        self.updated_at = at
