"""When the log's relay reads on the real PostgreSQL: once per append of this process after a
read that caught up, and still every row, whoever wrote it and whenever it committed
(invariant 3).

The relay's read is its own (the log's export); the broker is a stand-in that acknowledges at
once, since what is tested is what is read and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.util import await_only

from catalog.events import DomainEvent, RecordedEvent
from catalog.ports import LOG_START, LogCursor
from infra.db.checkpoints import load_checkpoint
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.log_export import ExportedEvent
from infra.db.migrate import upgrade
from infra.kafka.relay import event_relay
from infra.relay import Relay, RelayRead
from infra.settings import KafkaSettings
from tests.integration.test_log_reader_never_skips import (
    LingeringProjection,
    created,
)
from tests.integration.test_relay_rounds import destination, running
from tests.waiting import until

pytestmark = pytest.mark.postgres

RELAY = "relay.test"
AN_HOUR = 3600.0
LOOKS_MISSED = 0.3
"""How long the relay is given to make reads it should not make: a relay that looked again
briefly (1, 2, 4 ms...) would have read several times by then."""


class Acknowledging:
    """A broker that takes every batch and acknowledges it at once."""

    def __init__(self) -> None:
        self.streams: list[uuid.UUID] = []

    async def send(self, batch: Sequence[ExportedEvent]) -> asyncio.Future[None]:
        self.streams.extend(row.stream_id for row in batch)
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged

    async def has(self, *streams: uuid.UUID) -> bool:
        return set(streams) <= set(self.streams)


@dataclass
class CountedReads:
    """The relay's own read, counted."""

    relay: Relay[ExportedEvent]
    count: int = 0

    async def read(self, after: LogCursor, limit: int) -> RelayRead[ExportedEvent]:
        self.count += 1
        return await self.relay.read(after, limit)


@pytest.fixture
async def log(postgres_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(postgres_url)
    await upgrade(database)
    yield SqlEventLog(database)
    await database.close()


async def checkpoint_moved(log: SqlEventLog) -> bool:
    return (await log.database.read(load_checkpoint, RELAY)) != LOG_START


@contextlib.asynccontextmanager
async def another_process(postgres_url: str, *projections: Any) -> AsyncIterator[SqlEventLog]:
    """The log as another process appends to it: its own connections, nudging nobody here."""
    database = open_database(postgres_url)
    try:
        yield SqlEventLog(database, projections)
    finally:
        await database.close()


@contextlib.asynccontextmanager
async def relaying(
    log: SqlEventLog, broker: Acknowledging, *, idle_seconds: float
) -> AsyncIterator[CountedReads]:
    """The log's relay to `broker`, nudged by this process's appends, for the block's duration."""
    reads = CountedReads(event_relay(log, KafkaSettings(relay_idle_seconds=idle_seconds)))
    relay = Relay(RELAY, log.database, reads.read, destination(broker))
    async with running(relay, log, idle_seconds):
        yield reads


async def test_a_relay_caught_up_with_this_process_appends_reads_once_per_append(
    log: SqlEventLog,
) -> None:
    broker = Acknowledging()
    # Appended before the relay starts: a look that met an append committed and not yet
    # announced would rightly not count as caught up, and keep looking.
    first = await created(log)
    async with relaying(log, broker, idle_seconds=AN_HOUR) as reads:
        await until(lambda: broker.has(first), "the first event is published")
        # Its checkpoint written: a write still running when the next read comes would hide
        # nothing, but that read could not tell (it would look again, rightly).
        await until(lambda: checkpoint_moved(log), "the relay's checkpoint is written")
        after_first = reads.count
        await asyncio.sleep(LOOKS_MISSED)
        assert reads.count == after_first, "no look between this process's appends"
        second = await created(log)
        await until(lambda: broker.has(second), "the second event is published")
        await asyncio.sleep(LOOKS_MISSED)
        assert reads.count == after_first + 1, "one read for the second append"
    assert broker.streams == [first, second]


async def test_a_caught_up_relay_publishes_another_process_append_within_its_idle_pause(
    log: SqlEventLog, postgres_url: str
) -> None:
    broker = Acknowledging()
    async with relaying(log, broker, idle_seconds=0.5), another_process(postgres_url) as other:
        mine = await created(log)
        await until(lambda: broker.has(mine), "this process's event is published")
        theirs = await created(other)  # nudges nobody here
        await until(lambda: broker.has(theirs), "the other process's event is published")
    assert broker.streams == [mine, theirs]


class HeldOpen(LingeringProjection):
    """Keeps each append's transaction open until released, as a slow view update would: the
    event row is written, its transaction id taken, its commit to come."""

    name = "held_open"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        self.entered.set()
        await_only(self.release.wait())


async def test_a_transaction_begun_before_a_caught_up_read_and_committed_after_is_published(
    log: SqlEventLog, postgres_url: str
) -> None:
    """Nobody nudges the relay when the older transaction commits: the read it held back did
    not catch up, so the relay looks again on its own (the idle pause is an hour)."""
    broker = Acknowledging()
    held = HeldOpen()
    async with (
        relaying(log, broker, idle_seconds=AN_HOUR),
        another_process(postgres_url, held) as other,
    ):
        first = await created(log)
        await until(lambda: broker.has(first), "the first event is published")
        older = asyncio.create_task(created(other))
        await asyncio.wait_for(held.entered.wait(), AN_HOUR)
        mine = await created(log)  # nudges the relay; hidden behind the older transaction
        await asyncio.sleep(LOOKS_MISSED)
        assert broker.streams == [first]
        held.release.set()
        theirs = await older
        await until(lambda: broker.has(theirs, mine), "both later events are published")
    assert broker.streams == [first, theirs, mine]  # commit order: theirs began first


class AcknowledgingLater(Acknowledging):
    """A broker that acknowledges each batch when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[asyncio.Future[None]] = []

    async def send(self, batch: Sequence[ExportedEvent]) -> asyncio.Future[None]:
        self.streams.extend(row.stream_id for row in batch)
        acknowledged = asyncio.get_running_loop().create_future()
        self.pending.append(acknowledged)
        return acknowledged

    def acknowledge(self) -> None:
        for acknowledged in self.pending:
            acknowledged.set_result(None)
        self.pending = []


async def test_a_caught_up_relay_moves_its_checkpoint_once_the_broker_acknowledges(
    log: SqlEventLog,
) -> None:
    """Waiting for news after a read that caught up, the relay also wakes for the broker's
    acknowledgement: the checkpoint moves then, without another append or read (its idle pause
    is an hour)."""
    broker = AcknowledgingLater()
    first = await created(log)
    async with relaying(log, broker, idle_seconds=AN_HOUR) as reads:
        await until(lambda: broker.has(first), "the event is sent")
        await asyncio.sleep(LOOKS_MISSED)  # the relay is waiting for news by now
        read_before = reads.count
        assert not await checkpoint_moved(log)
        broker.acknowledge()
        await until(lambda: checkpoint_moved(log), "the checkpoint moves")
        assert reads.count == read_before, "no read for an acknowledgement"
