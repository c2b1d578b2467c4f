"""Relays: publish a table read in commit order to a Kafka topic, in that order, at least once.

Two tables are relayed. The log goes to `catalog.events` (the log is the outbox: request handlers
never publish), and the notifications outbox goes to `catalog.notifications`. A relay reads from
its checkpoint with a reader that never skips a row, sends each row keyed by image id with an
idempotent producer (`acks=all`), waits until the broker has acknowledged the whole batch, and
only then moves its checkpoint. A crash between the two sends a batch again: consumers drop
duplicates by (stream, version), notifications carry stable message ids. On PostgreSQL one
process at a time relays each table, whoever holds its lock; the others wait to take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from catalog.errors import DatabaseUnavailable
from catalog.ports import LogCursor
from infra.db.checkpoints import load_checkpoint, save_checkpoint
from infra.db.database import Database, run_through_outages
from infra.db.event_log import Positioned, SqlEventLog, cursor_after
from infra.db.leadership import Lease, leadership
from infra.db.log_export import ExportedEvent, read_for_export
from infra.db.notification_outbox import OutboxNotification, read_notifications
from infra.kafka.cloudevents import encode_exported
from infra.settings import KafkaSettings, NotificationSettings
from infra.wakeup import Pause, Wakeup

log = structlog.get_logger(__name__)

CHECKPOINT = "relay.kafka"
NOTIFICATIONS_CHECKPOINT = "relay.notifications"
PARTITIONS = 8
RETRY_DELAY_MAX = 5.0

Row = TypeVar("Row", bound=Positioned)
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: Headers


@dataclass(frozen=True)
class Relay(Generic[Row]):
    """What one relay publishes: its checkpoint's name, its reader, its topic and wire format."""

    name: str
    database: Database
    read: Callable[[LogCursor, int], Awaitable[Sequence[Row]]]
    topic: str
    encode: Callable[[Row], KafkaRecord]


def event_relay(event_log: SqlEventLog, settings: KafkaSettings) -> Relay[ExportedEvent]:
    database = event_log.database

    async def read(after: LogCursor, limit: int) -> list[ExportedEvent]:
        return await database.read(read_for_export, after, limit)

    def encode(row: ExportedEvent) -> KafkaRecord:
        key, value = encode_exported(row)
        return KafkaRecord(key, value, [])

    return Relay(CHECKPOINT, database, read, settings.events_topic, encode)


def notification_relay(
    database: Database, settings: NotificationSettings
) -> Relay[OutboxNotification]:
    async def read(after: LogCursor, limit: int) -> list[OutboxNotification]:
        return await database.read(read_notifications, after, limit)

    return Relay(NOTIFICATIONS_CHECKPOINT, database, read, settings.topic, oslo_record)


def oslo_record(row: OutboxNotification) -> KafkaRecord:
    """The record oslo.messaging's Kafka driver sends: its 2.0 envelope around the message.

    Its body decodes as Glance's own notifications do; the headers let anyone route by type or
    priority without parsing it (oslo.messaging's listeners read one topic per priority).
    """
    envelope = {"oslo.version": "2.0", "oslo.message": json.dumps(row.message)}
    return KafkaRecord(
        key=row.image_id.encode(),
        value=json.dumps(envelope, separators=(",", ":")).encode(),
        headers=[
            ("event_type", row.event_type.encode()),
            ("message_id", str(row.message_id).encode()),
            ("priority", row.priority.encode()),
        ],
    )


async def ensure_topic(settings: KafkaSettings, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


@dataclass
class InFlight:
    """A batch handed to the producer: acknowledged when `acks` is done, then checkpointed."""

    acks: asyncio.Future[list[object]]
    cursor: LogCursor


async def send_batch(
    relay: Relay[Row], producer: AIOKafkaProducer, cursor: LogCursor, batch_size: int
) -> InFlight | None:
    """Hand the next batch after `cursor` to the producer, without waiting for the broker."""
    batch = await relay.read(cursor, batch_size)
    if not batch:
        return None
    sends = []
    for row in batch:
        record = relay.encode(row)
        sends.append(
            await producer.send(
                relay.topic, value=record.value, key=record.key, headers=record.headers or None
            )
        )
    return InFlight(asyncio.gather(*sends), cursor_after(batch, cursor))


async def relay_batches(
    relay: Relay[Row],
    producer: AIOKafkaProducer,
    settings: KafkaSettings,
    wakeup: Wakeup | None,
    lease: Lease,
) -> None:
    """Publish batch after batch, reading and sending the next one while the broker
    acknowledges the last; a checkpoint moves only past acknowledged batches, in order."""
    # Only the leader moves this checkpoint, so it is read once per producer.
    cursor = await relay.database.read(load_checkpoint, relay.name)
    checkpoint = CheckpointWriter(relay.database, relay.name)
    pause = Pause(settings.relay_idle_seconds)
    previous: InFlight | None = None
    try:
        while True:
            lease.check()
            ticket = wakeup.ticket() if wakeup else None
            current = await send_batch(relay, producer, cursor, settings.relay_batch_size)
            if previous is not None:
                await previous.acks
                checkpoint.advance(previous.cursor)
            previous = current
            if current is not None:
                cursor = current.cursor
                pause.reset()
            else:
                await pause.wait(ticket)
    finally:
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


async def run_relay(
    relay: Relay[Row], settings: KafkaSettings, wakeup: Wakeup | None = None
) -> None:
    """Relay until cancelled, riding out broker outages (the table keeps everything meanwhile)
    and database outages (after which it takes its lock again and goes on from its checkpoint).

    After an empty read it waits for a nudge from a writer in this process, or polls again.
    """
    await run_through_outages(relay.database, lambda: _relay_while_leading(relay, settings, wakeup))


async def _relay_while_leading(
    relay: Relay[Row], settings: KafkaSettings, wakeup: Wakeup | None
) -> None:
    async with leadership(relay.database, relay.name) as lease:
        log.info("relay_started", relay=relay.name, topic=relay.topic)
        delay = 0.1
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.bootstrap_servers,
                enable_idempotence=True,
                acks="all",
                linger_ms=0,
            )
            try:
                await ensure_topic(settings, relay.topic)
                await producer.start()
                delay = 0.1
                await relay_batches(relay, producer, settings, wakeup, lease)
            except KafkaError as e:
                log.warning("relay_broker_unavailable", relay=relay.name, error=str(e))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_DELAY_MAX)
            finally:
                with contextlib.suppress(KafkaError):
                    await producer.stop()
