"""What consumers keep beside their effects, on both databases: places only move forward; and
how a delivery is applied."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from catalog.events import (
    DomainEvent,
    EventMetadata,
    ImageCreated,
    ImageTagAdded,
    NewEvent,
    RecordedEvent,
)
from infra.bootstrap import Container
from infra.consumers.base import Delivery
from infra.consumers.runner import APPLY_CHUNK, apply_delivery
from infra.db.consumer_state import (
    _PG_APPLIED_VERSIONS,
    applied_versions,
    in_key_order,
    load_offsets,
    record_applied,
    save_offsets,
)
from infra.db.database import open_database
from infra.db.migrate import upgrade
from tests.integration.views import read_whole


async def test_a_late_batch_cannot_move_a_partition_back(container: Container) -> None:
    write = container.database.write
    await write(save_offsets, "c", "t", {0: 10, 1: 4})
    # A process that lost partition 0 finishes a batch the new owner has already gone past.
    await write(save_offsets, "c", "t", {0: 7, 1: 6})

    assert await container.database.read(load_offsets, "c", "t") == {0: 10, 1: 6}
    assert await container.database.read(load_offsets, "other", "t") == {}


async def test_applied_versions_are_per_consumer_and_stream(container: Container) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    await container.database.write(record_applied, "c", {first: 3}, {})
    await container.database.write(record_applied, "c", {first: 5, second: 1}, {first: 3})

    assert await container.database.write(applied_versions, "c", [first, second]) == {
        first: 5,
        second: 1,
    }
    assert await container.database.write(applied_versions, "d", [first]) == {}


class Recording:
    """A consumer that notes what each `apply` was given."""

    name = "recording"
    event_types: frozenset[str] | None = None

    def __init__(self) -> None:
        self.calls: list[list[tuple[uuid.UUID, int]]] = []

    def apply(
        self, conn: sa.Connection, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> None:
        self.calls.append([(recorded.stream_id, recorded.version) for recorded, _ in events])


async def test_a_delivery_is_applied_in_chunks_in_one_transaction(container: Container) -> None:
    """A long delivery reaches the consumer a chunk at a time, in order, each event once;
    what was applied and the place are recorded once, after the last chunk."""
    streams = [uuid.uuid4() for _ in range(3)]
    for stream_id in streams:
        new = [NewEvent(event=ImageCreated(name="x"), occurred_at=datetime.now(UTC))]
        new += [
            NewEvent(event=ImageTagAdded(tag=f"t{n}"), occurred_at=datetime.now(UTC))
            for n in range(APPLY_CHUNK)
        ]
        await container.log.append(stream_id, 0, new, EventMetadata())
    events = await read_whole(container.log.read, 3 * (APPLY_CHUNK + 1))
    placed: list[int] = []
    delivery = Delivery(events, lambda conn: placed.append(len(events)))
    consumer = Recording()

    assert await container.database.write(apply_delivery, consumer, delivery) == len(events)

    assert [len(call) for call in consumer.calls] == [APPLY_CHUNK] * 3 + [3]
    applied = [event for call in consumer.calls for event in call]
    assert applied == [(e.stream_id, e.version) for e in events]
    assert placed == [len(events)]
    last = {stream_id: APPLY_CHUNK + 1 for stream_id in streams}
    assert await container.database.write(applied_versions, "recording", streams) == last


def _applied_versions_plan(conn: sa.Connection, streams: list[uuid.UUID]) -> str:
    """PostgreSQL's plan for a catch-up's batch of streams, chosen for these very values (the
    first runs of a prepared statement are planned for their parameters)."""
    conn.execute(
        sa.text(
            "INSERT INTO consumer_applied (consumer, stream_id, version)"
            " SELECT 'c', gen_random_uuid(), 1 FROM generate_series(1, 20000)"
        )
    )
    conn.execute(sa.text("ANALYZE consumer_applied"))
    explain = sa.text(f"EXPLAIN {_PG_APPLIED_VERSIONS.element.text}").bindparams(
        sa.bindparam("streams", type_=sa.ARRAY(sa.Uuid))
    )
    rows = conn.execute(explain, {"consumer": "c", "streams": streams})
    return "\n".join(row[0] for row in rows)


@pytest.mark.postgres
async def test_a_batchs_applied_versions_are_looked_up_by_key_however_many_records(
    postgres_url: str,
) -> None:
    # Left to choose, the planner scanned every record of the table for a batch of hundreds
    # of streams: a catch-up's cost grew with the streams its consumer had already seen.
    database = open_database(postgres_url)
    try:
        await upgrade(database)
        streams = sorted(uuid.uuid4() for _ in range(500))
        plan = await database.write(_applied_versions_plan, streams)
    finally:
        await database.close()

    assert "Index Scan using pk_consumer_applied" in plan, plan
    assert "Seq Scan on consumer_applied" not in plan, plan


def _in_postgres_order(conn: sa.Connection, streams: list[uuid.UUID]) -> list[uuid.UUID]:
    ordered = sa.text("SELECT s FROM unnest(:streams) AS s ORDER BY s").bindparams(
        sa.bindparam("streams", type_=sa.ARRAY(sa.Uuid))
    )
    return list(conn.execute(ordered, {"streams": streams}).scalars())


@pytest.mark.postgres
async def test_streams_are_locked_and_inserted_in_the_order_postgresql_keeps_them(
    postgres_url: str,
) -> None:
    # Two processes take the same records in the same order only if this order is the key's.
    streams = [uuid.uuid4() for _ in range(200)] + [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
    database = open_database(postgres_url)
    try:
        in_postgres = await database.read(_in_postgres_order, streams)
    finally:
        await database.close()

    assert in_key_order(streams) == in_postgres
