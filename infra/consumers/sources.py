"""The two sources a consumer's events come from (see base.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from catalog.errors import DatabaseUnavailable
from catalog.events import RecordedEvent
from catalog.ports import LOG_START
from infra.consumers.base import Delivery
from infra.db.checkpoints import load_checkpoint, save_checkpoint
from infra.db.consumer_state import load_offsets, save_offsets
from infra.db.database import Database
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.leadership import Lease, leadership
from infra.kafka.cloudevents import from_cloudevent
from infra.kafka.relay import ensure_topic
from infra.live_work import made_giving_way
from infra.settings import KafkaSettings
from infra.wakeup import Pause

log = structlog.get_logger(__name__)


FETCH_MAX_WAIT_MS = 5
INLINE_DECODE_RECORDS = 20
"""Fetched records decoded on the event loop at most; more are decoded in a thread. A few
records cost less than the thread's round trip, which on a busy loop is a wait of its own."""
TAKING_WAIT_MS = 1000
"""The longest the taking of records ahead waits in aiokafka at a time: records end the wait
at once, so this only spaces out an idle source's turns (the consumer's own idle pause is its
`idle_seconds`, waited on the records taken)."""
ONE_WRITER_IDLE_SECONDS = 1.0
"""How often a tail of a SQLite log looks for news nobody nudged it about: only a command-line
tool's appends, which may wait that long."""


def checkpoint_name(consumer: str) -> str:
    return f"consumer.{consumer}"


def group_id(topic: str, consumer: str) -> str:
    """The consumer's Kafka group: one per consumer and topic (`catalog.events.notifications`)."""
    return f"{topic}.{consumer}"


class LogTail:
    """The log itself, read from the consumer's checkpoint with the reader that never skips.

    On PostgreSQL only one process tails for a consumer at a time (the others wait for its
    lock); appends in this process wake it at once, others' are found by polling.

    A read that caught up (`TailRead.caught_up`: it reached the end of the log and only this
    process's appends were new) is not repeated before the next append here nudges the tail,
    or the idle pause ends. So an event costs one read, not a read and then looks that find
    nothing. On SQLite that is every read that reached the end: the server is the only process
    that appends (a command-line tool that does is found by the idle poll), and a commit is
    visible once made. On PostgreSQL it also needs every transaction older than the latest
    commit to have ended when it was read (one still running hides the commits after it, and
    nobody nudges when it ends); otherwise, or while another process appends, the tail looks
    again briefly.
    """

    def __init__(
        self, log: SqlEventLog, consumer: str, *, batch_size: int, idle_seconds: float
    ) -> None:
        self._log = log
        self._name = checkpoint_name(consumer)
        self._batch_size = batch_size
        self._one_writer = not log.database.postgres
        if self._one_writer:
            idle_seconds = max(idle_seconds, ONE_WRITER_IDLE_SECONDS)
        self._pause = Pause(idle_seconds, brief_looks=not self._one_writer)
        self._cursor = LOG_START
        self._pending = LOG_START
        self._leadership: contextlib.AbstractAsyncContextManager[Lease] | None = None
        self._lease = Lease()

    async def start(self) -> None:
        self._leadership = leadership(self._log.database, self._name)
        self._lease = await self._leadership.__aenter__()
        self._cursor = await self._log.database.read(load_checkpoint, self._name)

    async def next(self) -> Delivery | None:
        self._lease.check()
        ticket = self._log.appended.ticket()
        if await self._pause.wait_if_caught_up(ticket):
            if not ticket.is_set():
                return None
            ticket = self._log.appended.ticket()
        read = await self._log.read_tail(self._cursor, self._batch_size)
        events = read.events
        if not events:
            await self._pause.wait(ticket)
            return None
        self._pause.reset()
        if read.caught_up:
            self._pause.caught_up(ticket)
        self._pending = after = cursor_after(events, self._cursor)

        def record_place(conn: sa.Connection) -> None:
            save_checkpoint(conn, self._name, after)

        return Delivery(events, record_place)

    async def delivered(self, delivery: Delivery) -> None:
        self._cursor = self._pending

    async def stop(self) -> None:
        if self._leadership is not None:
            await self._leadership.__aexit__(None, None, None)
            self._leadership = None


class _PlacesFromDatabase(ConsumerRebalanceListener):  # type: ignore[misc]
    """On every assignment, continue each partition from the place kept with the effects."""

    def __init__(self, source: KafkaTail) -> None:
        self._source = source

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Every place is written with its effects: nothing to save on the way out. Records
        # taken ahead from these partitions are now their next owner's.
        self._source.drop_ahead(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        try:
            await self._source.seek_to_places(assigned)
        except DatabaseUnavailable as e:
            # Raised here, aiokafka would log it and fetch from Kafka's offsets: the source
            # raises it instead, and the runner starts it again once the database is back.
            self._source.unplaced = e


class KafkaTail:
    """A Kafka consumer group on `catalog.events`: partitions spread over the consumer's
    processes, each continuing from the offsets saved with the consumer's effects.

    Records are taken from aiokafka as soon as they are fetched (up to a batch ahead), while
    the consumer applies the previous batch: aiokafka fetches a partition again only once its
    fetched records have been taken, so records left with it would wait for the consumer's
    transaction to end, and then again for the fetch that follows.

    Offsets are also committed to Kafka after each batch, only so Kafka's own tools show the
    group's lag; the database's are the ones that count. That commit runs beside the consumer,
    not in its way: the next batch is fetched and applied meanwhile, and whoever waits for the
    batch's effects (the outbox's relays) is told without waiting for Kafka's answer.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        database: Database,
        consumer: str,
        *,
        batch_size: int,
        idle_seconds: float,
    ) -> None:
        self._settings = settings
        self._database = database
        self._name = consumer
        self._topic = settings.events_topic
        self._batch_size = batch_size
        self._idle_ms = int(idle_seconds * 1000)
        self._kafka: AIOKafkaConsumer | None = None
        self._places: dict[int, int] = {}
        self._seen: dict[int, int] = {}
        """Each partition's place after everything fetched since the start: a delivery's place
        stands for those before it (see `Delivery`)."""
        self._uncommitted: dict[int, int] = {}
        """Places applied but not yet committed to Kafka (for its tools only)."""
        self._committing: asyncio.Task[None] | None = None
        self.unplaced: DatabaseUnavailable | None = None
        """Why partitions assigned to this source could not be moved to their saved places."""
        self._ahead: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
        """Records taken from aiokafka, not yet delivered, in order per partition."""
        self._ahead_count = 0
        self._arrived = asyncio.Event()
        """Set when records are taken ahead, or the taking stopped (a broker error)."""
        self._taken = asyncio.Event()
        """Set when the records ahead are delivered: there is room to take more."""
        self._taking: asyncio.Task[None] | None = None
        self._rebalances = 0
        """Counts revocations: records fetched across one are not taken."""
        self._follows: dict[TopicPartition, int] = {}
        """Each assigned partition's offset where the records taken so far end."""

    @property
    def kafka(self) -> AIOKafkaConsumer:
        if self._kafka is None:
            raise RuntimeError("the source is not started")
        return self._kafka

    async def start(self) -> None:
        self.unplaced = None
        self._seen = {}
        await ensure_topic(str(self._settings.bootstrap_servers), self._topic)
        self._kafka = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            group_id=group_id(self._topic, self._name),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._batch_size,
            # A fetch in flight holds back partitions it does not cover until it returns; the
            # broker answers at once when data comes, but an idle one only after this long.
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        self._kafka.subscribe([self._topic], listener=_PlacesFromDatabase(self))
        await self._kafka.start()
        self._taking = asyncio.create_task(self._take_ahead())
        self._taking.add_done_callback(lambda _: self._arrived.set())

    async def seek_to_places(self, partitions: list[TopicPartition]) -> None:
        places = await self._database.read(load_offsets, self._name, self._topic)
        unplaced = [p for p in partitions if p.partition not in places]
        starts = await self.kafka.beginning_offsets(unplaced) if unplaced else {}
        for partition in partitions:
            offset: int = (
                places[partition.partition] if partition.partition in places else starts[partition]
            )
            self.kafka.seek(partition, offset)
            self._follows[partition] = offset
        log.info(
            "consumer_partitions_assigned",
            consumer=self._name,
            partitions=sorted(p.partition for p in partitions),
        )

    def drop_ahead(self, partitions: list[TopicPartition]) -> None:
        for partition in partitions:
            self._ahead_count -= len(self._ahead.pop(partition, ()))
            self._follows.pop(partition, None)
            self._seen.pop(partition.partition, None)  # its places are its new owner's now
        self._rebalances += 1
        self._taken.set()

    async def _take_ahead(self) -> None:
        """Take fetched records from aiokafka as they come, up to a batch ahead."""
        while True:
            room = self._batch_size - self._ahead_count
            if room <= 0:
                self._taken.clear()
                await self._taken.wait()
                continue
            rebalances = self._rebalances
            fetched = await self.kafka.getmany(timeout_ms=TAKING_WAIT_MS, max_records=room)
            for partition, records in fetched.items():
                if not records or partition not in self._follows:
                    continue  # revoked meanwhile: its new owner has these
                if rebalances != self._rebalances:
                    # Fetched across a rebalance, before or after the partition was moved to
                    # its saved place: fetched again from there, to be sure.
                    self.kafka.seek(partition, self._follows[partition])
                    continue
                self._ahead.setdefault(partition, []).extend(records)
                self._ahead_count += len(records)
                self._follows[partition] = records[-1].offset + 1
                self._arrived.set()

    def _take_delivered(self) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        taken, self._ahead, self._ahead_count = self._ahead, {}, 0
        self._arrived.clear()
        self._taken.set()
        return taken

    async def next(self) -> Delivery | None:
        if not self._ahead:
            self._arrived.clear()  # also set when a rebalance dropped what had arrived
            if self._taking is not None and not self._taking.done():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._idle_ms / 1000):
                        await self._arrived.wait()
        if self.unplaced is not None:
            raise self.unplaced
        if self._taking is not None and self._taking.done():
            self._taking.result()  # what stopped the taking (a broker error) stops the source
        if not self._ahead:
            return None
        fetched = self._take_delivered()
        records = [record for fetch in fetched.values() for record in fetch]
        if len(records) <= INLINE_DECODE_RECORDS:
            events = _decoded(records)
        else:
            # Decoded beside the event loop: a full batch is tens of milliseconds of work,
            # which whatever else the loop serves (the API, in `catalog serve`) would wait out;
            # the thread gives way to that work meanwhile.
            events = await asyncio.to_thread(made_giving_way, _decoded, records)
        places = {
            partition.partition: records[-1].offset + 1
            for partition, records in fetched.items()
            if records
        }

        self._seen.update(places)
        seen = dict(self._seen)

        def record_place(conn: sa.Connection) -> None:
            save_offsets(conn, self._name, self._topic, seen)

        self._places = places
        return Delivery(events, record_place)

    async def delivered(self, delivery: Delivery) -> None:
        self._uncommitted.update(self._places)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_to_kafka())

    async def _commit_to_kafka(self) -> None:
        """Commit the latest places, one commit at a time, until none is left."""
        while self._uncommitted:
            places, self._uncommitted = self._uncommitted, {}
            owned = {tp.partition: tp for tp in self.kafka.assignment()}
            offsets = {
                owned[p]: OffsetAndMetadata(offset, "")
                for p, offset in places.items()
                if p in owned
            }
            with contextlib.suppress(KafkaError):  # only for Kafka's tools; a rebalance may refuse
                await self.kafka.commit(offsets)

    async def stop(self) -> None:
        if self._taking is not None:
            self._taking.cancel()
            await asyncio.gather(self._taking, return_exceptions=True)
            self._taking = None
        self._ahead, self._ahead_count, self._follows = {}, 0, {}
        self._arrived.clear()
        if self._committing is not None:
            self._committing.cancel()
            await asyncio.gather(self._committing, return_exceptions=True)
            self._committing = None
        self._uncommitted = {}
        if self._kafka is not None:
            with contextlib.suppress(KafkaError):
                await self._kafka.stop()
            self._kafka = None


def _decoded(records: Sequence[ConsumerRecord[Any, Any]]) -> list[RecordedEvent]:
    return [from_cloudevent(record.value) for record in records]


async def kafka_lag(settings: KafkaSettings, database: Database, consumer: str) -> int:
    """A Kafka-fed consumer's lag as its saved places tell, from any process."""
    probe = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await probe.start()
    try:
        await probe.topics()  # fetches the cluster's metadata
        partitions = [
            TopicPartition(settings.events_topic, p)
            for p in (probe.partitions_for_topic(settings.events_topic) or ())
        ]
        starts = await probe.beginning_offsets(partitions) if partitions else {}
        ends = await probe.end_offsets(partitions) if partitions else {}
    finally:
        await probe.stop()
    places = await database.read(load_offsets, consumer, settings.events_topic)
    return sum(max(0, end - places.get(tp.partition, starts[tp])) for tp, end in ends.items())
