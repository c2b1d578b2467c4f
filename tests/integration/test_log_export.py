"""The relay's fast read of the log makes exactly the CloudEvents the log's events make."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from catalog.events import EventMetadata, ImageCreated, ImageUpdated, NewEvent
from catalog.events.metadefs import MetadefNamespaceCreated
from catalog.identity import Actor
from catalog.ports import LOG_START
from infra.bootstrap import Container
from infra.db.log_export import read_for_export
from infra.kafka.cloudevents import encode_exported, encode_message, from_cloudevent
from tests.waiting import until

META = EventMetadata(
    actor=Actor(user_id="u", project_id="p", roles=("member", "reader")),
    request_id="req-1",
    global_request_id="req-00000000-0000-4000-8000-000000000001",
)


async def test_exported_events_are_the_log_events_on_the_wire(container: Container) -> None:
    stream = uuid.uuid4()
    at = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
    events = [
        NewEvent(event=ImageCreated(name="é", properties={"k": "v"}, tags=("t",)), occurred_at=at),
        NewEvent(event=ImageUpdated(attributes={"name": "b"}), occurred_at=at),
    ]
    await container.log.append(stream, 0, events, META)
    other = NewEvent(event=ImageCreated(), occurred_at=at)
    await container.log.append(uuid.uuid4(), 0, [other], EventMetadata())
    namespace = NewEvent(event=MetadefNamespaceCreated(namespace="n"), occurred_at=at)
    await container.log.append(uuid.uuid4(), 0, [namespace], META)

    # The never-skipping reader may hold back for a moment while any transaction of the
    # database server runs: read until everything is there.
    async def everything_readable() -> bool:
        return len(await container.log.read(LOG_START, 10)) == 4

    await until(everything_readable)
    recorded = await container.log.read(LOG_START, 10)
    exported, _ = await container.database.read(read_for_export, LOG_START, 10)

    assert len(exported) == len(recorded) == 4
    for row, event in zip(exported, recorded, strict=True):
        key, value = encode_exported(row)
        assert (key, json.loads(value)) == (
            encode_message(event)[0],
            json.loads(encode_message(event)[1]),
        )
        assert from_cloudevent(value) == event.model_copy(update={"commit_order": 0})
    # The source names the kind of stream: an image's, a metadata definitions namespace's.
    sources = [json.loads(encode_message(event)[1])["source"] for event in recorded]
    assert sources == [*["/catalog/images"] * 3, "/catalog/metadefs"]
