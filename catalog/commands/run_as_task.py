"""Running a request's work as a task, as Glance does for every import.

The task is recorded as started before the work begins (`task.created` and `task.started` in
one append, with the process running it), and its end after the work's own changes are
recorded on their streams: an image changes first, its task says so afterwards. So a task
never claims more than happened; a process that dies in between leaves its task `processing`,
and recovery fails it once the process is known to be gone (`recover_tasks.py`), whatever
the image shows.

The work ends in one of two ways:

- it returns an `Outcome`: `Succeeded` with the task's result, or `Failed` with why, when the
  failure is the task's answer (Glance answers such requests 202 and tells the failure in the
  task only);
- it raises: the task fails with the error's message and the error goes on to the caller, as
  the request's answer. A database that cannot be reached records nothing: recovery ends the
  task once it answers again.

A task may also answer its request once it has begun (`start_as_task`): what is checked and
recorded first is the request's answer, the rest runs in the background (`background.py`) and
is told by the task and the image only.

Commands that start tasks check everything they can before (the caller's rights, the image's
status, the input): a request refused then leaves no task behind.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from catalog.commands.context import CommandContext
from catalog.errors import CatalogError, DatabaseUnavailable
from catalog.events import EventMetadata, TaskCreated
from catalog.task import Task, TaskType

log = structlog.get_logger(__name__)

INTERNAL_ERROR = "Task failed due to Internal Error"
"""Glance's message for a task whose work failed for a reason it does not tell users."""
CANCELLED = "The task was stopped before it ended: its request or its server stopped."
MiB = 1 << 20
T = TypeVar("T")


@dataclass(frozen=True)
class NewTask:
    type: TaskType
    input: dict[str, Any] = field(default_factory=dict)
    image_id: uuid.UUID | None = None
    """The image the task works on, if it works on one from the start."""


@dataclass(frozen=True)
class Succeeded:
    result: dict[str, Any]
    message: str = ""


@dataclass(frozen=True)
class Failed:
    message: str


Outcome = Succeeded | Failed
Work = Callable[[], Awaitable[Outcome]]
Begin = Callable[[Task], Awaitable[Work]]
"""The part of a task its request waits for; it returns the rest, run in the background."""


def image_result(image_id: uuid.UUID, size: int | None = None) -> Succeeded:
    """What an import's task ends with: the image, and (as Glance's progress message leaves
    it) how much data was copied."""
    message = "" if size is None else f"Copied {size // MiB} MiB"
    return Succeeded({"image_id": str(image_id)}, message)


async def run_as_task(
    context: CommandContext, metadata: EventMetadata, new: NewTask, work: Work
) -> Task:
    """Record a task for `work`, run it, record how it ended; the task as it ended."""
    task = _started(context, metadata, new)
    with context.tasks_here.working_on(task.id):
        await context.tasks.save(task, metadata)
        outcome = await _failing_task(context, metadata, task.id, work())
        return await _end(context, metadata, task.id, outcome)


async def start_as_task(
    context: CommandContext, metadata: EventMetadata, new: NewTask, begin: Begin
) -> Task:
    """Record a task, run `begin` (its error is the request's answer and fails the task), then
    the work it returns in the background; the task as it began."""
    task = _started(context, metadata, new)
    context.tasks_here.enter(task.id)  # left by the background work, once it has ended
    try:
        await context.tasks.save(task, metadata)
        work = await _failing_task(context, metadata, task.id, begin(task))
    except BaseException:
        context.tasks_here.leave(task.id)
        raise
    context.background.spawn(_in_background(context, metadata, task.id, work))
    return task


async def _in_background(
    context: CommandContext, metadata: EventMetadata, task_id: uuid.UUID, work: Work
) -> None:
    try:
        outcome = await _failing_task(context, metadata, task_id, work())
        await _end(context, metadata, task_id, outcome)
    except DatabaseUnavailable:
        log.warning("task_end_not_recorded", task_id=str(task_id))  # recovery ends it
    except CatalogError as e:  # a refusal the task's message tells: no traceback to read
        log.warning("task_failed", task_id=str(task_id), reason=failure_of(e).message)
    except Exception:
        log.exception("task_failed", task_id=str(task_id))  # recorded: no one else to tell
    finally:
        context.tasks_here.leave(task_id)


def _started(context: CommandContext, metadata: EventMetadata, new: NewTask) -> Task:
    actor, now = metadata.actor, context.clock.now()
    created = TaskCreated(
        type=new.type,
        owner=actor.project_id,
        image_id=None if new.image_id is None else str(new.image_id),
        user_id=actor.user_id,
        request_id=metadata.request_id,
        input=new.input,
    )
    task = Task.create(uuid.uuid4(), created, now)
    task.start(context.node_id, now)
    return task


async def _failing_task(
    context: CommandContext, metadata: EventMetadata, task_id: uuid.UUID, work: Awaitable[T]
) -> T:
    """`work`'s result; if it raises, the task fails with why, and the error goes on."""
    try:
        return await work
    except DatabaseUnavailable:
        raise  # nothing can be recorded now; recovery ends the task later
    except BaseException as e:
        # Shielded: a request that goes away must not leave its task running.
        await asyncio.shield(_end_quietly(context, metadata, task_id, failure_of(e)))
        raise


def failure_of(error: BaseException) -> Failed:
    """A task ended by `error`: its message says why, as far as users may know."""
    if isinstance(error, CatalogError):
        return Failed(error.detail or error.message)  # the detail, where it has one, says why
    if isinstance(error, asyncio.CancelledError):
        return Failed(CANCELLED)
    return Failed(INTERNAL_ERROR)


async def _end(
    context: CommandContext, metadata: EventMetadata, task_id: uuid.UUID, outcome: Outcome
) -> Task:
    time_to_live = context.task_settings.time_to_live

    def decide(task: Task) -> Task:
        if task.ended:
            # Recovery took this process for dead and ended the task first: it stays ended.
            log.warning("task_ended_elsewhere", task_id=str(task_id), status=str(task.status))
            return task
        now = context.clock.now()
        match outcome:
            case Succeeded(result=result, message=message):
                task.succeed(result, message, time_to_live, now)
            case Failed(message=message):
                task.fail(message, time_to_live, now)
        return task

    return await context.tasks.change(task_id, metadata, decide)


async def _end_quietly(
    context: CommandContext, metadata: EventMetadata, task_id: uuid.UUID, failed: Failed
) -> None:
    """Record the failure if the database lets it; else recovery does, later. The work's own
    error is what the caller gets either way."""
    try:
        await _end(context, metadata, task_id, failed)
    except DatabaseUnavailable:
        pass
    except CatalogError:
        log.exception("task_end_not_recorded", task_id=str(task_id))
