"""Glance's `task.*` notifications, derived from the events of a task's life
(`format_task_notification`, `TaskProxy`, `TaskRepoProxy` in `glance/notifier.py`).

Glance sends `task.create` when the task is recorded, `task.processing` when it starts, then
`task.success` or `task.failure` when it ends; `task.run` comes last, when the call that ran
the task returns, which is after its end (the work runs inside it), and it tells the task as
that call's caller holds it: as it was created, `pending`. Glance never deletes a task through
its API, so `task.delete` is never sent; here neither (an expired task's row goes, its events
stay).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from catalog.events import DomainEvent, TaskCreated, TaskFailed, TaskStarted, TaskSucceeded
from catalog.notifications.base import Notification, StreamNotifications, isotime
from catalog.task import Task


def task_payload(task: Task) -> dict[str, Any]:
    """`format_task_notification`: never the input (it may hold credentials), nor the result or
    the message (Glance leaves them out too)."""
    return {
        "id": str(task.id),
        "type": task.type,
        "status": None if task.status is None else str(task.status),
        "result": None,
        "owner": task.owner,
        "message": None,
        "expires_at": isotime(task.expires_at),
        "created_at": isotime(task.created_at),
        "updated_at": isotime(task.updated_at),
        "deleted": False,
        "deleted_at": None,
    }


class TaskNotifications(StreamNotifications):
    """The notifications of one task."""

    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(task_id)
        self.task = Task(task_id)
        self.created: dict[str, Any] = {}
        """The task as it was created: what `task.run` tells."""

    @property
    def ended(self) -> bool:
        return self.task.ended

    def _fold(self, event: DomainEvent, at: datetime) -> None:
        self.task.apply(event, at)
        if isinstance(event, TaskCreated):
            self.created = task_payload(self.task)

    def _notifications(self, event: DomainEvent, at: datetime) -> list[Notification]:
        self._fold(event, at)
        if isinstance(event, TaskCreated):
            return [Notification("task.create", self.created)]
        payload = task_payload(self.task)
        match event:
            case TaskStarted():
                return [Notification("task.processing", payload)]
            case TaskSucceeded():
                return [Notification("task.success", payload), self._run()]
            case TaskFailed():
                return [Notification("task.failure", payload), self._run()]
        return []

    def _run(self) -> Notification:
        return Notification("task.run", self.created)
