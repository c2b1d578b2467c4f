"""DESIGN invariant 3 on the real PostgreSQL: a tailing reader never skips an event.

Sixteen writers append at once while their transactions linger for random moments, so positions
commit out of order; a reader tails the log by cursor the whole time. It must see every event
exactly once, and each stream's events in version order. Repeated several times.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence, Set
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.util import await_only

from catalog.events import (
    DomainEvent,
    EventMetadata,
    ImageCreated,
    ImageUploadFailed,
    NewEvent,
    RecordedEvent,
    ReplayEvent,
)
from catalog.ports import LOG_START
from catalog.projections.base import BatchWrite
from infra.db.database import Pool, open_database
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.migrate import upgrade
from infra.db.tables import event
from tests.conftest import fresh_postgres_database
from tests.waiting import DEADLINE_SECONDS

pytestmark = pytest.mark.postgres

WRITERS = 16
APPENDS_PER_WRITER = 25
RUNS = 4
GRACE_SECONDS = DEADLINE_SECONDS


class LingeringProjection:
    """Holds each append's transaction open for a random moment, as a slow view update would."""

    name = "lingering"
    tables: tuple[sa.Table, ...] = ()

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        # Projections run inside the append's unit of work; on PostgreSQL that is a greenlet
        # of the event loop, so the pause must be awaited to let other writers run meanwhile.
        await_only(asyncio.sleep(random.random() * 0.004))

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        *,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> BatchWrite:
        """Never rebuilt: it has no tables."""
        return lambda conn, insert: None


@pytest.fixture
async def log(postgres_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(postgres_url, pool=Pool(size=WRITERS + 2))
    await upgrade(database)
    yield SqlEventLog(database, [LingeringProjection()])
    await database.close()


async def writer(log: SqlEventLog) -> list[tuple[uuid.UUID, int]]:
    written = []
    for _ in range(APPENDS_PER_WRITER):
        stream = uuid.uuid4()
        now = datetime.now(UTC)
        events = [
            NewEvent(event=ImageCreated(), occurred_at=now),
            NewEvent(event=ImageUploadFailed(reason="r", location="file:///x"), occurred_at=now),
        ]
        await log.append(stream, 0, events, EventMetadata())
        written += [(stream, 1), (stream, 2)]
    return written


async def tail(log: SqlEventLog, done: asyncio.Event, seen: list[RecordedEvent]) -> None:
    """Read until the writers are done and everything they wrote has been seen.

    An empty read after the writers finish is not the end by itself: the reader also waits
    for transactions still running elsewhere on the server (other databases included). A
    reader that skipped events would wait in vain; the grace period bounds that.
    """
    cursor = LOG_START
    expected = WRITERS * APPENDS_PER_WRITER * 2
    give_up_at: float | None = None
    while True:
        if done.is_set() and give_up_at is None:
            give_up_at = time.monotonic() + GRACE_SECONDS
        batch = await log.read(cursor, 50)
        seen += batch
        cursor = cursor_after(batch, cursor)
        if batch:
            continue
        if give_up_at is not None and (len(seen) >= expected or time.monotonic() > give_up_at):
            return
        await asyncio.sleep(0.001)


async def test_a_tailing_reader_sees_every_event_exactly_once(log: SqlEventLog) -> None:
    out_of_order_commits = 0
    for _ in range(RUNS):
        await log.database.write(lambda conn: conn.execute(event.delete()))
        done, seen = asyncio.Event(), list[RecordedEvent]()
        reader = asyncio.create_task(tail(log, done, seen))
        written = [
            pair for w in await asyncio.gather(*(writer(log) for _ in range(WRITERS))) for pair in w
        ]
        done.set()
        await reader

        counts = Counter((e.stream_id, e.version) for e in seen)
        assert set(counts) == set(written), "the reader skipped events"
        assert max(counts.values()) == 1, "the reader saw an event twice"
        versions: dict[uuid.UUID, list[int]] = {}
        for e in seen:
            versions.setdefault(e.stream_id, []).append(e.version)
        assert all(v == [1, 2] for v in versions.values())
        positions = [e.position for e in seen]
        out_of_order_commits += sum(a > b for a, b in itertools.pairwise(positions))
    # The test only proves something if positions really did commit out of order.
    assert out_of_order_commits > 0


@contextlib.asynccontextmanager
async def running_transaction(url: str) -> AsyncIterator[None]:
    """A transaction in the database at `url` that holds a transaction id until the block ends,
    as a long migration or report would."""
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_current_xact_id()")
            yield
    finally:
        await connection.close()


async def created(log: SqlEventLog) -> uuid.UUID:
    stream = uuid.uuid4()
    new = [NewEvent(event=ImageCreated(), occurred_at=datetime.now(UTC))]
    await log.append(stream, 0, new, EventMetadata())
    return stream


async def test_a_transaction_in_another_database_does_not_hold_the_reader_back(
    log: SqlEventLog,
) -> None:
    async with fresh_postgres_database() as elsewhere, running_transaction(elsewhere):
        stream = await created(log)
        read = await log.read(LOG_START, 10)
    assert [e.stream_id for e in read] == [stream]


async def test_an_older_transaction_in_the_same_database_still_holds_the_reader_back(
    log: SqlEventLog, postgres_url: str
) -> None:
    async with running_transaction(postgres_url):
        stream = await created(log)
        assert await log.read(LOG_START, 10) == []
    assert [e.stream_id for e in await log.read(LOG_START, 10)] == [stream]


# A tail that caught up waits for this process's next append instead of looking again
# (`TailRead.caught_up`): only when nothing it could miss is left to find by looking.


async def test_a_read_of_this_process_appends_with_nothing_running_has_caught_up(
    log: SqlEventLog,
) -> None:
    stream = await created(log)
    read = await log.read_tail(LOG_START, 10)
    assert [e.stream_id for e in read.events] == [stream]
    assert read.caught_up


async def test_a_read_held_back_by_an_older_transaction_has_not_caught_up(
    log: SqlEventLog, postgres_url: str
) -> None:
    first = await created(log)
    async with running_transaction(postgres_url):
        await created(log)  # hidden until the older transaction ends, which nudges nobody
        read = await log.read_tail(LOG_START, 10)
    assert [e.stream_id for e in read.events] == [first]
    assert not read.caught_up


async def test_a_transaction_begun_after_the_latest_commit_hides_nothing(
    log: SqlEventLog, postgres_url: str
) -> None:
    stream = await created(log)
    async with running_transaction(postgres_url):
        read = await log.read_tail(LOG_START, 10)
    assert [e.stream_id for e in read.events] == [stream]
    assert read.caught_up


async def test_a_read_while_a_transaction_runs_elsewhere_has_caught_up(
    log: SqlEventLog,
) -> None:
    async with fresh_postgres_database() as elsewhere, running_transaction(elsewhere):
        await created(log)
        assert (await log.read_tail(LOG_START, 10)).caught_up


async def test_a_read_of_another_process_appends_has_not_caught_up(
    log: SqlEventLog, postgres_url: str
) -> None:
    """Another process's appends nudge nobody here: its next ones are found by looking."""
    elsewhere = open_database(postgres_url)
    try:
        other_process = SqlEventLog(elsewhere)
        await created(log)
        await created(other_process)
        read = await log.read_tail(LOG_START, 10)
    finally:
        await elsewhere.close()
    assert len(read.events) == 2
    assert not read.caught_up


async def test_a_full_read_has_not_caught_up(log: SqlEventLog) -> None:
    for _ in range(3):
        await created(log)
    assert not (await log.read_tail(LOG_START, 3)).caught_up
    assert (await log.read_tail(LOG_START, 4)).caught_up
