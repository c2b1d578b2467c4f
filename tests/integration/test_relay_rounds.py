"""How a relay goes round (infra/relay.py), with a broker that is slow to acknowledge."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from catalog.events import EventMetadata, ImageCreated, NewEvent, RecordedEvent
from catalog.ports import LogCursor
from infra.db.checkpoints import load_checkpoint
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.relay import MAX_IN_FLIGHT, Destination, Publisher, Relay, RelayRead, run_relay
from infra.settings import KafkaSettings
from tests.waiting import until


class Unacknowledging:
    """A broker that takes every batch and acknowledges one only when told to."""

    def __init__(self) -> None:
        self.batches: list[list[uuid.UUID]] = []
        self.acks: list[asyncio.Future[None]] = []

    async def send(self, batch: Sequence[RecordedEvent]) -> asyncio.Future[None]:
        self.batches.append([row.stream_id for row in batch])
        self.acks.append(asyncio.get_running_loop().create_future())
        return self.acks[-1]

    async def sent(self, count: int) -> bool:
        return len(self.batches) >= count


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


def destination(broker: Publisher[Any]) -> Destination[Any]:
    """`broker` as a relay's destination, always there."""

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Publisher[Any]]:
        yield broker

    return Destination("a broker", connect, ())


@contextlib.asynccontextmanager
async def running(relay: Relay[Any], log: SqlEventLog, idle_seconds: float) -> AsyncIterator[None]:
    """`relay`, nudged by `log`'s appends, running for the block's duration."""
    pace = KafkaSettings(relay_idle_seconds=idle_seconds)
    relaying = asyncio.create_task(run_relay(relay, pace, log.appended))
    try:
        yield
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)


@contextlib.asynccontextmanager
async def relaying_to(broker: Unacknowledging, log: SqlEventLog) -> AsyncIterator[Relay[Any]]:
    """A relay of `log` to `broker`, running for the block's duration."""

    async def read(after: LogCursor, limit: int) -> RelayRead[RecordedEvent]:
        return RelayRead(await log.read(after, limit))

    relay = Relay("relay.test", log.database, read, destination(broker))
    # Idle rounds far apart: only the appends' nudges can bring a new event in time.
    async with running(relay, log, idle_seconds=3600):
        yield relay


async def test_a_relay_sends_news_while_the_last_batch_awaits_its_acknowledgement(
    log: SqlEventLog,
) -> None:
    broker = Unacknowledging()
    async with relaying_to(broker, log):
        first = await created(log)
        await until(lambda: broker.sent(1), "the first event is sent")
        second = await created(log)
        await until(
            lambda: broker.sent(2), "the second event is sent before the first is acknowledged"
        )
    assert broker.batches == [[first], [second]]


async def test_a_relay_keeps_sending_while_several_batches_await_acknowledgement(
    log: SqlEventLog,
) -> None:
    """A broker slow to acknowledge holds back neither the reads nor the sends, up to the
    window; the checkpoint moves past acknowledged batches only, in their order."""
    broker = Unacknowledging()
    streams = []
    async with relaying_to(broker, log) as relay:
        for count in range(1, MAX_IN_FLIGHT + 1):  # one after the other: each its own batch
            streams.append(await created(log))
            await until(partial(broker.sent, count), f"event {count} is sent unacknowledged")
        second = (await log.load_stream(streams[1]))[0].position
        broker.acks[1].set_result(None)  # the second: the first still holds the checkpoint
        broker.acks[0].set_result(None)

        async def past_the_second() -> bool:
            place = await log.database.read(load_checkpoint, relay.name)
            return place.position == second

        await until(past_the_second, "the checkpoint moves past the two acknowledged batches")
    assert broker.batches == [[stream] for stream in streams]
