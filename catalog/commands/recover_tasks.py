"""Fail the tasks of processes that died: nothing will ever end them otherwise.

A task records the process running it when it starts (`task.started`). When that process stops
renewing its heartbeat, or when this very process no longer runs a task it is recorded as
running (its end could not be recorded: the database was down), the task is failed. What its
work did is recorded on the image's own stream, which recovery of uploads and copies looks
after (`recover_uploads.py`); the task only says it did not see its work through, and lets go
of the image's import lock if it held it (`import_lock.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.import_lock import release_import_lock
from catalog.events import EventMetadata
from catalog.task import Task

log = structlog.get_logger(__name__)

ABANDONED = "The task was abandoned: the process running it stopped before it ended."


class RecoverAbandonedTasks(Command):
    candidates: Sequence[uuid.UUID]
    """Tasks the view shows as not ended."""
    live_nodes: frozenset[str]
    """Processes whose heartbeat is current. This process's own tasks count as running only
    while it runs them (`CommandContext.tasks_here`)."""


async def recover_abandoned_tasks(
    command: RecoverAbandonedTasks, context: CommandContext, metadata: EventMetadata
) -> list[uuid.UUID]:
    recovered = []
    for task_id in command.candidates:

        def fail(task: Task) -> str | None:
            """The failed task's image, if it works on one; None if it is not abandoned."""
            alive = context.tasks_here.alive(task.id, command.live_nodes, context.node_id)
            if not task.abandoned(alive):
                return None
            task.fail(ABANDONED, context.task_settings.time_to_live, context.clock.now())
            return task.image_id or ""

        image_id = await context.tasks.change(task_id, metadata, fail)
        if image_id is None:
            continue
        if image_id:
            # An import lock the task held would otherwise hold the image for ever.
            await release_import_lock(context, metadata, uuid.UUID(image_id), task_id, ABANDONED)
        log.warning("task_recovered", task_id=str(task_id))
        recovered.append(task_id)
    return recovered
