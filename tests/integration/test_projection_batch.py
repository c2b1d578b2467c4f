"""The batch path (`Projection.prepare_batch` and its write, the rebuild's) leaves exactly the
rows that the inline path (`Projection.apply`, event by event) leaves, whatever the batches.

The history is the benchmark's made-up log: every kind of event, images created, uploaded,
staged, patched, tagged, shared, copied, deleted, and downloads on streams of their own.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest

from bench.event_history import history
from catalog.events import ReplayEvent
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.db.rebuild_tables import RebuildTables, rebuild_tables_for
from infra.db.replay_reader import STREAMS_START, ReplayReader, stream_cursor_after
from tests.integration.views import (
    LIVE_TABLES,
    Rows,
    project_one_by_one,
    read_whole,
    store_history,
    view_rows,
)

HISTORY = history(2500, seed=7)


@pytest.fixture
async def log(database_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(database_url)
    await upgrade(database)
    await store_history(database, HISTORY)
    yield SqlEventLog(database, INLINE_PROJECTIONS)
    await database.close()


async def inline_rows(log: SqlEventLog) -> Rows:
    await project_one_by_one(log, await read_whole(log.read, len(HISTORY)))
    return await view_rows(log.database)


async def batch_rows(log: SqlEventLog, batches: Sequence[Sequence[ReplayEvent]]) -> Rows:
    """The rows the batch path leaves in fresh copies of the view tables."""
    tables = await fresh_copies(log)
    for batch in batches:
        await log.database.write(log.project_batch, batch, tables.copies)
    return await view_rows(log.database, tables.copies)


async def fresh_copies(log: SqlEventLog) -> RebuildTables:
    tables = rebuild_tables_for(log.postgres, LIVE_TABLES)
    await log.database.write(tables.drop_leftovers)
    await log.database.write(tables.create)
    return tables


def cut(events: Sequence[ReplayEvent], size: int) -> list[Sequence[ReplayEvent]]:
    return [events[start : start + size] for start in range(0, len(events), size)]


@pytest.mark.parametrize("size", [1, 17, 400, len(HISTORY)])
async def test_batches_in_log_order_leave_the_rows_of_apply(log: SqlEventLog, size: int) -> None:
    """Size 1 reads every image back before each event; the whole log at once folds every
    image in memory; the sizes between cut images' histories anywhere."""
    events = await read_whole(ReplayReader(log.database).after, len(HISTORY))
    if size == 1:
        events = events[:300]  # one transaction per event: a part is enough
        await project_one_by_one(log, (await read_whole(log.read, len(HISTORY)))[:300])
        expected = await view_rows(log.database)
    else:
        expected = await inline_rows(log)
    assert len(expected["image"]) > (10 if size == 1 else 200)

    assert await batch_rows(log, cut(events, size)) == expected


async def stream_by_stream(log: SqlEventLog, size: int) -> list[Sequence[ReplayEvent]]:
    """The log in the rebuild's bulk order, batch by batch: each stream whole, streams in no
    log order, a stream longer than `size` cut across batches."""
    reader = ReplayReader(log.database)
    await read_whole(log.read, len(HISTORY))  # once every event is below the horizon
    upto = await reader.horizon()
    batches: list[Sequence[ReplayEvent]] = []
    after = STREAMS_START
    while batch := await reader.streams(upto, after, size):
        batches.append(batch)
        after = stream_cursor_after(batch, after)
    assert sum(map(len, batches)) == len(HISTORY)
    return batches


async def test_stream_by_stream_leaves_the_rows_of_apply(log: SqlEventLog) -> None:
    assert await batch_rows(log, await stream_by_stream(log, 300)) == await inline_rows(log)


@pytest.mark.parametrize("order", ["log", "streams"])
async def test_batches_prepared_before_the_writes_before_them(log: SqlEventLog, order: str) -> None:
    """The rebuild prepares a batch while the one before is written: what a batch's
    preparation folds cannot depend on those writes. Here every batch is prepared before
    any is written, streams cut across batches included (their rows are read back by the
    write, after the writes before it)."""
    if order == "log":
        batches = cut(await read_whole(ReplayReader(log.database).after, len(HISTORY)), 97)
    else:
        batches = await stream_by_stream(log, 40)
        assert any(a[-1].stream_id == b[0].stream_id for a, b in itertools.pairwise(batches))
    tables = await fresh_copies(log)
    seen: set[uuid.UUID] = set()
    writes = []
    for batch in batches:
        new_streams = {e.stream_id for e in batch} - seen if order == "streams" else set()
        writes.append(log.prepare_batch(batch, tables.copies, frozenset(new_streams)))
        seen |= {e.stream_id for e in batch}
    for write in writes:
        await log.database.write(write)

    assert await view_rows(log.database, tables.copies) == await inline_rows(log)


async def test_replaying_again_changes_nothing(log: SqlEventLog) -> None:
    """Both paths are idempotent per (stream, version): a replay over rows already there (the
    version guard) leaves them as they were, tags and members included."""
    recorded = await read_whole(log.read, len(HISTORY))
    await project_one_by_one(log, recorded)
    once = await view_rows(log.database)
    await project_one_by_one(log, recorded)
    assert await view_rows(log.database) == once

    events = cut(await read_whole(ReplayReader(log.database).after, len(HISTORY)), 500)
    assert await batch_rows(log, [*events, *events]) == once
