"""How a relay goes round (infra/relay.py), with a broker that is slow to acknowledge."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest

from catalog.events import EventMetadata, ImageCreated, NewEvent, RecordedEvent
from catalog.ports import LogCursor
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.relay import Destination, Publisher, Relay, run_relay
from infra.settings import KafkaSettings
from tests.waiting import until


class Unacknowledging:
    """A broker that takes every batch and never acknowledges one."""

    def __init__(self) -> None:
        self.batches: list[list[uuid.UUID]] = []

    async def send(self, batch: Sequence[RecordedEvent]) -> asyncio.Future[None]:
        self.batches.append([row.stream_id for row in batch])
        return asyncio.get_running_loop().create_future()


@pytest.fixture
async def log(database_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(database_url)
    await upgrade(database)
    yield SqlEventLog(database)
    await database.close()


async def created(log: SqlEventLog) -> uuid.UUID:
    stream = uuid.uuid4()
    new = [NewEvent(event=ImageCreated(), occurred_at=datetime.now(UTC))]
    await log.append(stream, 0, new, EventMetadata())
    return stream


async def test_a_relay_sends_news_while_the_last_batch_awaits_its_acknowledgement(
    log: SqlEventLog,
) -> None:
    broker = Unacknowledging()

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Publisher[RecordedEvent]]:
        yield broker

    async def read(after: LogCursor, limit: int) -> list[RecordedEvent]:
        return await log.read(after, limit)

    relay = Relay("relay.test", log.database, read, Destination("a broker", connect, ()))
    # Idle rounds far apart: only the appends' nudges can bring the second event in time.
    pace = KafkaSettings(relay_idle_seconds=3600)
    relaying = asyncio.create_task(run_relay(relay, pace, log.appended))
    try:
        first = await created(log)

        async def sent(count: int) -> bool:
            return len(broker.batches) >= count

        await until(lambda: sent(1), "the first event is sent")
        second = await created(log)
        await until(lambda: sent(2), "the second event is sent before the first is acknowledged")
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
    assert broker.batches == [[first], [second]]
