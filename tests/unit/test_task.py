"""The Task aggregate: Glance's status machine, recorded as events and rebuilt from them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from catalog.events import TaskCreated
from catalog.projections.tasks import row_after
from catalog.queries.tasks import view_of_task
from catalog.task import InvalidTaskTransition, Task, TaskStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(hours=48)


def created() -> Task:
    return Task.create(uuid.uuid4(), TaskCreated(type="import", owner="proj-a"), NOW)


def test_a_task_runs_then_ends_and_expires_after_its_time_to_live() -> None:
    task = created()
    task.start("node-1", NOW)
    task.succeed({"image_id": "x"}, "Copied 1 MiB", TTL, NOW + timedelta(minutes=1))
    assert (task.status, task.result, task.message) == (
        TaskStatus.SUCCESS,
        {"image_id": "x"},
        "Copied 1 MiB",
    )
    assert task.expires_at == NOW + timedelta(minutes=1) + TTL
    rebuilt = Task.from_history(task.id, task.pending)
    assert (rebuilt.status, rebuilt.version, rebuilt.expires_at) == (
        TaskStatus.SUCCESS,
        3,
        task.expires_at,
    )


def test_a_pending_task_may_fail_but_not_succeed() -> None:
    task = created()
    with pytest.raises(InvalidTaskTransition):
        task.succeed({}, "", TTL, NOW)
    task.fail("no", TTL, NOW)
    assert task.status is TaskStatus.FAILURE


def test_an_ended_task_stays_ended() -> None:
    task = created()
    task.start(None, NOW)
    task.fail("stopped", TTL, NOW)
    with pytest.raises(InvalidTaskTransition):
        task.start(None, NOW)
    with pytest.raises(InvalidTaskTransition):
        task.fail("again", TTL, NOW)
    assert len(task.pending) == 3


def test_only_a_task_whose_process_is_gone_is_abandoned() -> None:
    task = created()
    assert not task.abandoned(frozenset())  # not started: no process runs it yet
    task.start("node-1", NOW)
    assert not task.abandoned(frozenset({"node-1"}))
    assert task.abandoned(frozenset({"node-2"}))


ENDINGS: dict[str, Callable[[Task, datetime], None]] = {
    "success": lambda task, at: task.succeed({"image_id": "x"}, "Copied 1 MiB", TTL, at),
    "failure": lambda task, at: task.fail("stopped", TTL, at),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_tasks_view_holds_what_the_aggregate_shows(ending: str) -> None:
    """After every event (and again when it is replayed) the view's row is the view that a
    create's answer builds from the aggregate without reading the view back."""
    image_id = str(uuid.uuid4())
    created = TaskCreated(
        type="api_image_import",
        owner="proj-a",
        image_id=image_id,
        user_id="alice",
        request_id="req-1",
        input={"image_id": image_id, "backend": ["file"]},
    )
    task = Task.create(uuid.uuid4(), created, NOW)
    task.start("node-1", NOW + timedelta(seconds=1))
    ENDINGS[ending](task, NOW + timedelta(seconds=2))
    row = None
    for version, new in enumerate(task.pending, start=1):
        row = row_after(row, task.id, version, new.occurred_at, new.event)
        assert row is not None
        shown = asdict(view_of_task(Task.from_history(task.id, task.pending[:version])))
        assert {name: value for name, value in row.items() if name != "version"} == shown
        assert row_after(row, task.id, version, new.occurred_at, new.event) == row
    assert row is not None
    assert row["status"] == ending
