"""A task's history as a timeline people read (`catalog history TASK_ID`), one line per event,
in the columns of an image's timeline (`infra/history_timeline.py`): time, version, event
type, actor, request id, and what happened, e.g. (on one line)

    2026-11-23T10:01:02Z  v3    task.succeeded  by user u1 (project p1, roles admin)  req-…
    succeeded: result {'image_id': '…'}, 'Copied 0 MiB', expires 2026-11-25T10:01:02Z

Tasks are kept in the log after they expired, so their timelines are too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from catalog.errors import NotFound
from catalog.events import (
    DomainEvent,
    RecordedEvent,
    TaskCreated,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
    decode,
)
from catalog.ports import AuditLog
from infra.history_timeline import TIME, shown, timeline_line


def _expires(at: datetime) -> str:
    return f"expires {at.strftime(TIME)}"


def describe_task_event(event: DomainEvent) -> str:
    match event:
        case TaskCreated():
            image = f" of image {event.image_id}" if event.image_id else ""
            return f"created: {event.type}{image}, input {json.dumps(event.input, sort_keys=True)}"
        case TaskStarted():
            return f"started in process {shown(event.node_id)}"
        case TaskSucceeded():
            message = f", {shown(event.message)}" if event.message else ""
            return f"succeeded: result {shown(event.result)}{message}, {_expires(event.expires_at)}"
        case TaskFailed():
            return f"failed: {shown(event.message)}, {_expires(event.expires_at)}"
        case _:
            return type(event).__name__


def task_line(recorded: RecordedEvent) -> str:
    event = decode(recorded.event_type, recorded.schema_version, recorded.data)
    return timeline_line(recorded, describe_task_event(event))


async def task_timeline(log: AuditLog, task_id: uuid.UUID) -> AsyncIterator[str]:
    """Every line of the task's timeline; `NotFound` if no task has this id."""
    stream = await log.load_stream(task_id)
    if not stream or stream[0].event_type != TaskCreated.event_type:
        raise NotFound(f"Could not find task {task_id}")
    for recorded in stream:
        yield task_line(recorded)
