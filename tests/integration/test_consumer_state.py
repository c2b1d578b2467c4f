"""What consumers keep beside their effects, on both databases: places only move forward."""

from __future__ import annotations

import uuid

from infra.bootstrap import Container
from infra.db.consumer_state import applied_versions, load_offsets, record_applied, save_offsets


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
