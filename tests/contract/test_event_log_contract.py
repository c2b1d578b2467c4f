"""The EventLog port's contract, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from catalog.errors import ConcurrencyConflict
from catalog.events import EventMetadata, ImageCreated, ImageDeleted, NewEvent, RecordedEvent
from catalog.identity import Actor
from catalog.ports import LOG_START
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.migrate import upgrade
from infra.db.tables import event
from tests.statements import statements_sent
from tests.waiting import until

META = EventMetadata(
    actor=Actor(user_id="u1", project_id="p1", roles=("member",)), request_id="req-1"
)


@pytest.fixture
async def log(database_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(database_url)
    await upgrade(database)
    yield SqlEventLog(database)
    await database.close()


def created(name: str = "n") -> NewEvent:
    return NewEvent(event=ImageCreated(name=name), occurred_at=datetime.now(UTC))


def deleted() -> NewEvent:
    return NewEvent(event=ImageDeleted(), occurred_at=datetime.now(UTC))


def _count_events(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(event)).scalar_one())


async def count_events(log: SqlEventLog) -> int:
    return await log.database.read(_count_events)


async def test_appended_events_load_back_in_version_order_with_their_metadata(
    log: SqlEventLog,
) -> None:
    stream = uuid.uuid4()
    await log.append(stream, 0, [created("a")], META)
    await log.append(stream, 1, [deleted()], META)
    loaded = await log.load_stream(stream)
    assert [(e.version, e.event_type) for e in loaded] == [
        (1, "image.created"),
        (2, "image.deleted"),
    ]
    assert loaded[0].data["name"] == "a"
    assert loaded[0].metadata == META
    assert loaded[0].occurred_at.tzinfo is not None


async def test_a_stale_expected_version_is_a_conflict_and_appends_nothing(log: SqlEventLog) -> None:
    stream = uuid.uuid4()
    await log.append(stream, 0, [created()], META)
    with pytest.raises(ConcurrencyConflict):
        await log.append(stream, 0, [created(), deleted()], META)
    assert await count_events(log) == 1


async def test_of_concurrent_appends_at_one_version_exactly_one_wins(log: SqlEventLog) -> None:
    stream = uuid.uuid4()
    await log.append(stream, 0, [created()], META)
    results = await asyncio.gather(
        *(log.append(stream, 1, [deleted()], META) for _ in range(8)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, ConcurrencyConflict) for r in results if isinstance(r, BaseException))
    assert [e.version for e in await log.load_stream(stream)] == [1, 2]


async def test_several_events_append_atomically(log: SqlEventLog) -> None:
    stream = uuid.uuid4()
    recorded = await log.append(stream, 0, [created(), deleted()], META)
    assert [r.version for r in recorded] == [1, 2]
    assert recorded[0].position < recorded[1].position


async def test_reading_by_cursor_returns_every_event_once_in_order(log: SqlEventLog) -> None:
    streams = [uuid.uuid4() for _ in range(5)]
    for s in streams:
        await log.append(s, 0, [created()], META)

    async def all_readable() -> bool:
        # A reader stops short of transactions still running on the server (other tests').
        return len(await log.read(LOG_START, 100)) == len(streams)

    await until(all_readable, "the appends are readable")
    first = await log.read(LOG_START, 2)
    rest = await log.read(cursor_after(first, LOG_START), 100)
    seen = [e.stream_id for e in first + rest]
    assert seen == streams
    assert await log.read(cursor_after(rest, LOG_START), 100) == []


async def read_to_the_end(log: SqlEventLog, expected: int, limit: int) -> list[RecordedEvent]:
    """Every event, read `limit` at a time from the start, once `expected` are readable."""

    events: list[RecordedEvent] = []

    async def everything() -> bool:
        events.clear()
        while batch := await log.read(cursor_after(events, LOG_START), limit):
            events.extend(batch)
        return len(events) == expected

    await until(everything, "every event is readable")
    return events


async def test_reads_after_appends_here_and_elsewhere_give_what_the_log_holds(
    log: SqlEventLog, database_url: str
) -> None:
    """Where a process hands its readers the events it appended itself (SQLite), they are those
    the log holds, and another process's appends in between are not passed over."""
    elsewhere = SqlEventLog(open_database(database_url))
    afresh = SqlEventLog(open_database(database_url))  # appends nothing: reads the log
    try:
        first, second = uuid.uuid4(), uuid.uuid4()
        await log.append(first, 0, [created("a")], META)
        await log.append(first, 1, [deleted()], META)
        await elsewhere.append(second, 0, [created("b")], META)
        await log.append(uuid.uuid4(), 0, [created("c"), deleted()], META)
        await log.append(second, 1, [deleted()], META)

        here = await read_to_the_end(log, 6, limit=2)
        assert here == await read_to_the_end(afresh, 6, limit=100)
        assert [e.data.get("name") for e in here] == ["a", None, "b", "c", None, None]
    finally:
        await elsewhere.database.close()
        await afresh.database.close()


async def test_readers_reading_from_one_place_at_once_share_one_read(log: SqlEventLog) -> None:
    """As the consumers of a process do, woken by the same append: each gets every event."""
    streams = [uuid.uuid4() for _ in range(3)]
    for stream in streams:
        await log.append(stream, 0, [created()], META)
    await read_to_the_end(log, len(streams), limit=100)
    with statements_sent() as sent:
        together = await asyncio.gather(*(log.read(LOG_START, 100) for _ in range(3)))
    reads = [statement for statement in sent if "FROM event" in statement]

    assert all([e.stream_id for e in events] == streams for events in together)
    assert len(reads) <= 1  # SQLite: none, the events appended here are in memory


async def test_an_unknown_stream_loads_empty(log: SqlEventLog) -> None:
    assert await log.load_stream(uuid.uuid4()) == []


async def test_many_concurrent_appends_keep_per_stream_versions_exact(log: SqlEventLog) -> None:
    """Concurrent appends (committed together where the backend groups them) stay exact:
    per stream one winner per version, conflicts for the rest, new streams all created."""
    existing = [uuid.uuid4() for _ in range(10)]
    for stream in existing:
        await log.append(stream, 0, [created()], META)
    fresh = [uuid.uuid4() for _ in range(10)]
    contenders = [log.append(s, 1, [deleted()], META) for s in existing for _ in range(4)]
    newcomers = [log.append(s, 0, [created(), deleted()], META) for s in fresh]

    results = await asyncio.gather(*contenders, *newcomers, return_exceptions=True)

    won = [r for r in results[: len(contenders)] if not isinstance(r, BaseException)]
    lost = [r for r in results[: len(contenders)] if isinstance(r, BaseException)]
    assert len(won) == len(existing)
    assert all(isinstance(r, ConcurrencyConflict) for r in lost)
    assert not any(isinstance(r, BaseException) for r in results[len(contenders) :])
    for stream in existing:
        assert [e.version for e in await log.load_stream(stream)] == [1, 2]
    for stream in fresh:
        assert [e.version for e in await log.load_stream(stream)] == [1, 2]
    assert await count_events(log) == 10 + 10 + 20
