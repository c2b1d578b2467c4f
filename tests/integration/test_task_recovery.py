"""Tasks of processes that stopped are failed: nothing else would ever end them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from catalog.commands.recover_tasks import ABANDONED
from catalog.events import EventMetadata, TaskCreated
from catalog.task import Task, TaskStatus
from infra.bootstrap import Container
from infra.recovery import beat, recover_tasks_once

LEASE = timedelta(seconds=30)


async def running_task(container: Container, node_id: str) -> uuid.UUID:
    """A task recorded as running in process `node_id`."""
    now = datetime.now(UTC)
    task = Task.create(uuid.uuid4(), TaskCreated(type="api_image_import", owner="proj-a"), now)
    task.start(node_id, now)
    await container.bus.context.tasks.save(task, EventMetadata())
    return task.id


async def test_a_task_of_a_dead_process_is_failed(container: Container) -> None:
    task_id = await running_task(container, "node-that-died")
    assert await recover_tasks_once(container, LEASE) == [task_id]
    task = await container.bus.context.tasks.load(task_id)
    assert (task.status, task.message) == (TaskStatus.FAILURE, ABANDONED)
    assert task.expires_at is not None
    assert await recover_tasks_once(container, LEASE) == []  # ended: no longer a candidate


async def test_tasks_of_running_processes_are_left_alone(container: Container) -> None:
    await beat(container)
    own = await running_task(container, container.node_id)
    with container.bus.context.tasks_here.working_on(own):
        assert await recover_tasks_once(container, LEASE) == []
    assert (await container.bus.context.tasks.load(own)).status is TaskStatus.PROCESSING
    # Recorded as running here, and no longer run here: its end was never recorded.
    assert await recover_tasks_once(container, LEASE) == [own]
