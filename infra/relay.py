"""Relays: publish a table read in commit order to a broker, in that order, at least once.

Two tables are relayed. The log goes to Kafka's `catalog.events` (the log is the outbox:
request handlers never publish), and the notifications outbox goes wherever notifications are
sent (infra/notifications/routes.py). A relay reads from its checkpoint with a reader that
never skips a row, hands each batch to its destination in order, waits until the broker has
acknowledged the whole batch, and only then moves its checkpoint. A crash between the two
sends a batch again: consumers drop duplicates by (stream, version), notifications carry
stable message ids. On PostgreSQL one process at a time runs each relay, whoever holds its
lock; the others wait to take over.

What a destination is (a Kafka topic, a RabbitMQ exchange) is its own module's business: here
it is something to connect to that takes batches in order and says when the broker has them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import structlog

from catalog.errors import DatabaseUnavailable
from catalog.ports import LogCursor
from infra.db.checkpoints import load_checkpoint, save_checkpoint
from infra.db.database import Database, run_through_outages
from infra.db.event_log import Positioned, cursor_after
from infra.db.leadership import Lease, leadership
from infra.wakeup import Pause, Wakeup

log = structlog.get_logger(__name__)

RETRY_DELAY_MAX = 5.0
MAX_IN_FLIGHT = 8
"""Batches sent and not yet acknowledged, at most. An acknowledgement comes back through the
same busy event loop as everything else (tens of milliseconds on a loaded machine): a relay
that waited for one before each new read would hold back the rows committed meanwhile. The
bound keeps what a reconnection sends again small (at most this many batches)."""

Row = TypeVar("Row", bound=Positioned)
RowIn = TypeVar("RowIn", bound=Positioned, contravariant=True)


class Publisher(Protocol[RowIn]):
    """A connection to a broker, open while a relay uses it."""

    async def send(self, batch: Sequence[RowIn]) -> asyncio.Future[None]:
        """Hand `batch` to the broker in its order, without waiting for the broker; the future
        is done once the broker has acknowledged all of it, or fails."""
        ...


@dataclass(frozen=True)
class Destination(Generic[Row]):
    """Where a relay publishes: how to connect, and which errors mean the broker is away
    (the relay connects again after a pause, and sends again from its checkpoint)."""

    describe: str
    """For the logs, e.g. `Kafka topic catalog.events at kafka1:9092` (no credentials)."""
    connect: Callable[[], AbstractAsyncContextManager[Publisher[Row]]]
    outages: tuple[type[BaseException], ...]


@dataclass(frozen=True)
class RelayRead(Generic[Row]):
    """A batch read, and whether the relay may wait for its nudge before it reads again: the
    read saw every commit, and only writers of this process, which nudge it, wrote the rows
    (see `SqlEventLog.caught_up`). Otherwise the relay looks again briefly, for what an older
    transaction hid or another process wrote (nobody nudges it about those)."""

    rows: Sequence[Row]
    caught_up: bool = False


@dataclass(frozen=True)
class Relay(Generic[Row]):
    """What one relay publishes: its checkpoint's name (its lock's too), its reader, and
    where it publishes."""

    name: str
    database: Database
    read: Callable[[LogCursor, int], Awaitable[RelayRead[Row]]]
    destination: Destination[Row]


class RelayPace(Protocol):
    """How a relay reads: rows per batch at most, and its longest pause while idle."""

    @property
    def relay_batch_size(self) -> int: ...

    @property
    def relay_idle_seconds(self) -> float: ...


def acknowledged(acks: Sequence[Awaitable[object]]) -> asyncio.Future[None]:
    """Done once every acknowledgement has come; failed with the first failure once all are
    in, so that none is left unretrieved."""

    async def all_in() -> None:
        outcomes = await asyncio.gather(*acks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    return asyncio.ensure_future(all_in())


def abandon(acks: asyncio.Future[None]) -> None:
    """A batch whose acknowledgement no one will wait for (the connection is going away): it
    is sent again from the checkpoint, and its outcome is of no interest."""
    if not acks.done():
        acks.cancel()
    elif not acks.cancelled():
        acks.exception()


def settled(acks: asyncio.Future[None]) -> bool:
    """Whether the broker has acknowledged the whole batch already."""
    return acks.done() and not acks.cancelled() and acks.exception() is None


@dataclass
class InFlight:
    """A batch handed to the broker: acknowledged when `acks` is done, then checkpointed."""

    acks: asyncio.Future[None]
    cursor: LogCursor


async def send_batch(
    relay: Relay[Row], publisher: Publisher[Row], cursor: LogCursor, batch_size: int
) -> tuple[InFlight | None, bool]:
    """Hand the next batch after `cursor` to the broker, without waiting for its answer;
    with whether the read caught up (`RelayRead.caught_up`)."""
    read = await relay.read(cursor, batch_size)
    if not read.rows:
        return None, False
    sent = InFlight(await publisher.send(read.rows), cursor_after(read.rows, cursor))
    return sent, read.caught_up


async def relay_batches(
    relay: Relay[Row],
    publisher: Publisher[Row],
    pace: RelayPace,
    wakeup: Wakeup | None,
    lease: Lease,
) -> None:
    """Publish batch after batch, reading and sending the next ones while the broker
    acknowledges the earlier (up to `MAX_IN_FLIGHT`); a checkpoint moves only past
    acknowledged batches, in order.

    A relay that finds nothing new waits for news, not for the broker: a row committed while
    the last batch is being acknowledged is read and sent at once. That batch's checkpoint
    moves on the relay's next round, or once it is acknowledged if the relay waits for news.

    After a read that caught up, the relay reads again only once a writer here nudges it, or
    its idle pause ends: a row costs one read, not a read and then looks that find nothing."""
    # Only the leader moves this checkpoint, so it is read once per connection.
    cursor = await relay.database.read(load_checkpoint, relay.name)
    checkpoint = CheckpointWriter(relay.database, relay.name)
    pause = Pause(pace.relay_idle_seconds)
    in_flight: deque[InFlight] = deque()  # oldest first
    try:
        while True:
            lease.check()
            # Settle the acknowledged batches, in order; wait for the broker only when the
            # window is full.
            while in_flight and (len(in_flight) >= MAX_IN_FLIGHT or in_flight[0].acks.done()):
                await in_flight[0].acks
                checkpoint.advance(in_flight.popleft().cursor)
            ticket = wakeup.ticket() if wakeup else None
            # Woken by the oldest batch's acknowledgement too, to settle it (and move the
            # checkpoint) while nothing else happens, not only as the next read begins.
            oldest = in_flight[0].acks if in_flight else None
            if await pause.wait_if_caught_up(ticket, or_until=oldest):
                continue  # settle what was acknowledged meanwhile, then read
            current, caught_up = await send_batch(relay, publisher, cursor, pace.relay_batch_size)
            if current is not None:
                in_flight.append(current)
                cursor = current.cursor
                pause.reset()
                if caught_up:
                    pause.caught_up(ticket)
            else:
                await pause.wait(ticket)
    finally:
        while in_flight and settled(in_flight[0].acks):  # not to be sent again
            checkpoint.advance(in_flight.popleft().cursor)
        for batch in in_flight:
            abandon(batch.acks)
        await checkpoint.close()


class CheckpointWriter:
    """Moves a relay's checkpoint beside the relay, not in its way.

    A commit can take a while (the database syncs it to disk); the relay goes on reading and
    sending meanwhile, and the writer catches up with the latest acknowledged place, one write
    at a time. A crash loses at most the places not yet written: those batches are sent again,
    which consumers recognise.
    """

    def __init__(self, database: Database, name: str) -> None:
        self._database = database
        self._name = name
        self._target: LogCursor | None = None
        self._written: LogCursor | None = None
        self._task: asyncio.Task[None] | None = None

    def advance(self, cursor: LogCursor) -> None:
        self._target = cursor
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._catch_up())

    async def _catch_up(self) -> None:
        while self._target is not None and self._target != self._written:
            target = self._target
            try:
                await self._database.write(save_checkpoint, self._name, target)
            except DatabaseUnavailable:
                return  # the relay meets the outage too, and starts again when it ends
            except Exception:
                log.exception("relay_checkpoint_failed", relay=self._name)
                return  # the next advance tries again
            self._written = target

    async def close(self) -> None:
        """Write the last place, unless cancelled while waiting."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._target != self._written:
            await self._catch_up()


async def run_relay(relay: Relay[Row], pace: RelayPace, wakeup: Wakeup | None = None) -> None:
    """Relay until cancelled, riding out broker outages (the table keeps everything meanwhile)
    and database outages (after which it takes its lock again and goes on from its checkpoint).

    After an empty read it waits for a nudge from a writer in this process, or polls again;
    after one that caught up, for the nudge only (or its idle pause).
    """
    await run_through_outages(relay.database, lambda: _relay_while_leading(relay, pace, wakeup))


async def _relay_while_leading(relay: Relay[Row], pace: RelayPace, wakeup: Wakeup | None) -> None:
    destination = relay.destination
    async with leadership(relay.database, relay.name) as lease:
        log.info("relay_started", relay=relay.name, destination=destination.describe)
        delay = 0.1
        while True:
            try:
                async with destination.connect() as publisher:
                    delay = 0.1
                    await relay_batches(relay, publisher, pace, wakeup, lease)
            except destination.outages as e:
                log.warning(
                    "relay_broker_unavailable",
                    relay=relay.name,
                    destination=destination.describe,
                    error=str(e) or type(e).__name__,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_DELAY_MAX)
