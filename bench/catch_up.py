"""A consumer catching up with a long log: its rate against reading the log, and what it costs
the writers meanwhile.

    python -m bench.catch_up [--events 1000000] [--consumers scrubber,notifications]
                             [--postgres SERVER_URL] [--kafka HOST:PORT] [--apart]

Creates a database of its own (dropped at the end), fills its log as `bench.rebuild` does, then
starts each consumer at position 0 and times it until it has applied the whole log, while a
writer keeps appending: the scrubber (a few event types: what the consumers' framework costs,
reading, skipping, keeping places) and notifications (a Glance notification written into the
outbox for nearly every event):
- through the embedded tail (`LogTail`), against reading the log with the tail's own reader
  in the consumer's batches;
- with `--kafka` (or `CATALOG_TEST_KAFKA_BOOTSTRAP`): the log relayed to a topic of its own
  (deleted at the end), then through a Kafka group
  (`KafkaTail`), against a bare Kafka consumer reading and decoding the same records;
- with `--apart`: through the tail as `catalog consume NAME`, a process of its own, as an
  operator runs a catch-up away from the API (its rate, its CPU per event, the writer's p99).
The process's heap is frozen first, as `catalog serve` freezes its own once started. Each
prints the rate per tenth of the catch-up, the ratio to reading the log (aim: within 2x), the
same ratio in this process's CPU per event (user + system: what a busy host disturbs less; the
writer's share, measured alone, taken out), the database server's CPU per event when the server
runs on this machine (its processes serving the bench's database, from /proc: the consumer and
the server take turns on a batch, so a catch-up's time is both), and the writer's append
latency p99 during it against a run without it (aim: within 1.5x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from subprocess import DEVNULL

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench.rebuild import (
    Writer,
    cpu_use,
    fill,
    last_position,
    scratch_database,
    until_readable,
)
from bench.run import machine
from bench.server import cpu_seconds
from bench.tenths import Tenths
from catalog.ports import LOG_START
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.consumers.base import Consumer, Delivery, EventSource
from infra.consumers.notifications import NotificationsConsumer
from infra.consumers.runner import run_consumer
from infra.consumers.scrubber import ScrubberConsumer
from infra.consumers.sources import KafkaTail, LogTail, checkpoint_name
from infra.db.checkpoints import load_checkpoint
from infra.db.database import Database, open_database
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.migrate import upgrade
from infra.db.tables import (
    checkpoint,
    consumer_applied,
    consumer_fold,
    consumer_offset,
    notification,
    scrub_schedule,
)
from infra.heap import freeze_startup_heap
from infra.kafka.cloudevents import from_cloudevent
from infra.kafka.relay import CHECKPOINT, event_relay
from infra.rebuild_progress import ProgressDisplay
from infra.relay import run_relay
from infra.settings import ConsumerSettings, KafkaSettings, NotificationSettings

AIM_RATIO_TO_READING = 2.0
AIM_WRITE_P99_RATIO = 1.5
BASELINE_SECONDS = 15.0
DEADLINE_SECONDS = 3600.0
CONSUMERS: dict[str, Callable[[], Consumer]] = {
    "scrubber": ScrubberConsumer,
    "notifications": lambda: NotificationsConsumer(NotificationSettings()),
}


@dataclass(frozen=True)
class Pace:
    """Events/s, and this process's CPU seconds (user + system, every thread) per event: less
    disturbed than the rate by other work on a busy host."""

    rate: float
    cpu: float
    server_cpu: float | None = None
    """The database server's CPU seconds per event (its processes serving the bench's
    database, the writer's included); None when the server is not on this machine."""


@dataclass(frozen=True)
class CatchUp:
    """One source's figures."""

    consumer: str
    source: str
    events: int
    reading: Pace
    """Reading the log through this source, nothing applied."""
    catching_up: Pace
    tenths: Tenths
    p99_without: float
    p99_during: float

    def lines(self) -> list[str]:
        reading, catching_up = self.reading, self.catching_up
        return [
            f"catch-up of {self.consumer} through {self.source}: {self.events:,} events at"
            f" {catching_up.rate:,.0f} events/s;"
            f" reading alone {reading.rate:,.0f} events/s: reading/catch-up ="
            f" {reading.rate / catching_up.rate:.2f} (aim <= {AIM_RATIO_TO_READING:.1f})",
            f"  this process's CPU per event: catch-up {catching_up.cpu * 1e6:.0f} us"
            f" (the writer's taken out), reading {reading.cpu * 1e6:.0f} us ="
            f" {catching_up.cpu / reading.cpu:.2f}x",
            *self._server_line(),
            f"  catch-up {self.tenths.report()}",
            f"  append p99 {self.p99_without * 1000:.1f} ms without, {self.p99_during * 1000:.1f}"
            f" ms during = {self.p99_during / self.p99_without:.2f}x"
            f" (aim <= {AIM_WRITE_P99_RATIO:.1f})",
        ]

    def _server_line(self) -> list[str]:
        """What the database server spent meanwhile: the process and the server take turns on
        a batch, so its time is both CPUs'."""
        server = self.catching_up.server_cpu
        if server is None:
            return []
        return [f"  the database server's CPU per event, catch-up: {server * 1e6:.0f} us"]


CONSUMERS_HELP = f"comma-separated, of {', '.join(CONSUMERS)}"


def names(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    if unknown := set(chosen) - set(CONSUMERS):
        raise argparse.ArgumentTypeError(f"no consumer {', '.join(sorted(unknown))}")
    return chosen


class Counted:
    """An `EventSource` passed through, counting what was delivered."""

    def __init__(self, source: EventSource, total: int, tenths: Tenths) -> None:
        self.source, self.total, self.tenths = source, total, tenths
        self.count = 0
        self.reached = asyncio.Event()

    async def start(self) -> None:
        await self.source.start()

    async def next(self) -> Delivery | None:
        return await self.source.next()

    async def delivered(self, delivery: Delivery) -> None:
        await self.source.delivered(delivery)
        self.count += len(delivery.events)
        self.tenths.advance(min(self.count, self.total), self.total)
        if self.count >= self.total:
            self.reached.set()

    async def stop(self) -> None:
        await self.source.stop()


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else 0.0


@dataclass(frozen=True)
class Appends:
    latencies: list[float]
    cpu_per_second: float
    """This process's CPU seconds per second while only the writer ran."""


async def appends_alone(log: SqlEventLog, seconds: float) -> Appends:
    writer = Writer(log)
    cpu, started = time.process_time(), time.perf_counter()
    writing = asyncio.create_task(writer.run())
    await asyncio.sleep(seconds)
    writer.stopped.set()
    await writing
    spent = time.process_time() - cpu
    return Appends(writer.latencies, spent / (time.perf_counter() - started))


async def catch_up(
    log: SqlEventLog, consumer: Consumer, source: EventSource, total: int, alone: Appends
) -> tuple[Pace, Tenths, list[float]]:
    """Run `consumer` from `source` until it delivered `total` events, a writer appending
    meanwhile: its pace (the writer's CPU, as it costs `alone`, taken out), the rate per
    tenth, the writer's latencies."""
    tenths = Tenths(ProgressDisplay(sys.stderr, label=f"catch-up of {consumer.name}"))
    counted = Counted(source, total, tenths)
    writer = Writer(log)
    async with cpu_use(sa.make_url(log.database.url).database or "") as taken:
        cpu, started = time.process_time(), time.perf_counter()
        writing = asyncio.create_task(writer.run())
        consuming = asyncio.create_task(run_consumer(consumer, counted, log.database))
        try:
            await _reached(counted, consuming)
            seconds = time.perf_counter() - started
            spent = time.process_time() - cpu - alone.cpu_per_second * seconds
        finally:
            consuming.cancel()
            await asyncio.gather(consuming, return_exceptions=True)
            writer.stopped.set()
            await writing
    server = taken[0].server
    per_event = None if server is None else server / total
    return Pace(total / seconds, spent / total, per_event), tenths, writer.latencies


async def _reached(counted: Counted, consuming: asyncio.Task[None]) -> None:
    """Once the consumer has delivered every event counted; its failure, if it stopped."""
    reached = asyncio.create_task(counted.reached.wait())
    done, _ = await asyncio.wait(
        {reached, consuming}, timeout=DEADLINE_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    if consuming in done:
        consuming.result()  # a consumer that stopped says why
    if reached not in done:
        raise SystemExit("the consumer did not reach the head in time")


async def forget_consumers(database: Database) -> None:
    """Every consumer back at position 0, as a new one: nothing applied, nothing written, no
    fold kept (a fold of a later version than the consumer's place is of no use to it)."""

    def forget(conn: sa.Connection) -> None:
        tables = (consumer_applied, consumer_fold, consumer_offset, notification, scrub_schedule)
        for table in tables:
            conn.execute(sa.delete(table))
        conn.execute(sa.delete(checkpoint).where(checkpoint.c.name.like("consumer.%")))

    await database.write(forget)


async def tail_read_rate(log: SqlEventLog, batch: int) -> Pace:
    """Reading the whole log as the tail reads it (`SqlEventLog.read`)."""
    cpu, started, cursor, count = time.process_time(), time.perf_counter(), LOG_START, 0
    while events := await log.read(cursor, batch):
        cursor, count = cursor_after(events, cursor), count + len(events)
    return Pace(count / (time.perf_counter() - started), (time.process_time() - cpu) / count)


async def through_the_tail(
    log: SqlEventLog, url: str, total: int, consumers: Sequence[str], apart: bool
) -> AsyncIterator[CatchUp | str]:
    batch = ConsumerSettings().batch_size
    reading = await tail_read_rate(log, batch)
    for name in consumers:
        await forget_consumers(log.database)
        alone = await appends_alone(log, BASELINE_SECONDS)
        source = LogTail(log, name, batch_size=batch, idle_seconds=0.05)
        pace, tenths, latencies = await catch_up(log, CONSUMERS[name](), source, total, alone)
        p99_without, p99_during = p99(alone.latencies), p99(latencies)
        yield CatchUp(name, "the log's tail", total, reading, pace, tenths, p99_without, p99_during)
        if apart:
            await forget_consumers(log.database)
            yield await consumed_apart(log, url, name, p99_without)


async def consumed_apart(log: SqlEventLog, url: str, name: str, p99_without: float) -> str:
    """`catalog consume NAME` from the log's start in a process of its own (the log's tail),
    this process's writer appending meanwhile; timed from its first event applied (its start
    is not the catch-up's), until it reached the end of the filled log."""
    last = await log.database.read(last_position)
    with tempfile.TemporaryDirectory() as data_dir:
        environment = {
            **{key: value for key, value in os.environ.items() if not key.startswith("CATALOG_")},
            "CATALOG_DATABASE_URL": url,
            "CATALOG_DATA_DIR": data_dir,
        }
        consumer = await asyncio.create_subprocess_exec(
            *CATALOG, "consume", name, env=environment, stdout=DEVNULL, stderr=DEVNULL
        )
        writer = Writer(log)
        writing = asyncio.create_task(writer.run())
        try:
            started_at = partial(_applied_from, log.database, name, 1, consumer)
            await until(started_at, "the consumer starts")
            first = await log.database.read(_applied_place, name)
            cpu, started = cpu_seconds(consumer.pid), time.perf_counter()
            latencies = len(writer.latencies)
            caught_up = partial(_applied_from, log.database, name, last, consumer)
            await until(caught_up, "the consumer catches up")
            seconds = time.perf_counter() - started
            pace = Pace(
                (last - first) / seconds, (cpu_seconds(consumer.pid) - cpu) / (last - first)
            )
            during = writer.latencies[latencies:]
        finally:
            consumer.terminate()
            await consumer.wait()
            writer.stopped.set()
            await writing
    return (
        f"catch-up of {name} as a process of its own (`catalog consume`), through the log's tail:"
        f" {last - first:,} events at {pace.rate:,.0f} events/s, its CPU per event"
        f" {pace.cpu * 1e6:.0f} us; append p99 {p99_without * 1000:.1f} ms without,"
        f" {p99(during) * 1000:.1f} ms during = {p99(during) / p99_without:.2f}x"
    )


CATALOG = (sys.executable, "-m", "infra.cli")


def _applied_place(conn: sa.Connection, name: str) -> int:
    return load_checkpoint(conn, checkpoint_name(name)).position


async def _applied_from(
    database: Database, name: str, position: int, consumer: asyncio.subprocess.Process
) -> bool:
    if consumer.returncode is not None:
        raise SystemExit(f"`catalog consume {name}` stopped: exit status {consumer.returncode}")
    return await database.read(_applied_place, name) >= position


async def relay_to(log: SqlEventLog, kafka: KafkaSettings) -> float:
    """The whole log published to `kafka`'s events topic; events/s."""
    last = await log.database.read(last_position)
    started = time.perf_counter()
    relaying = asyncio.create_task(run_relay(event_relay(log, kafka), kafka))
    try:
        await until(lambda: _relayed(log.database, last, relaying), "the relay publishes the log")
    finally:
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
    return last / (time.perf_counter() - started)


async def _relayed(database: Database, last: int, relaying: asyncio.Task[None]) -> bool:
    if relaying.done():
        relaying.result()
    return (await database.read(load_checkpoint, CHECKPOINT)).position >= last


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {what}")
        await asyncio.sleep(0.5)


async def kafka_read_rate(kafka: KafkaSettings, total: int, batch: int) -> Pace:
    """A bare consumer reading the topic from its start, each record decoded."""
    consumer = AIOKafkaConsumer(
        kafka.events_topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"bench-read-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
        fetch_max_wait_ms=5,
    )
    await consumer.start()
    try:
        cpu, started, count = time.process_time(), time.perf_counter(), 0
        while count < total:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=batch)
            for records in fetched.values():
                count += len([from_cloudevent(record.value) for record in records])
        seconds = time.perf_counter() - started
        return Pace(count / seconds, (time.process_time() - cpu) / count)
    finally:
        await consumer.stop()


async def through_kafka(
    log: SqlEventLog, total: int, bootstrap: str, consumers: Sequence[str]
) -> AsyncIterator[CatchUp | str]:
    """The relay's rate, as a line; then each consumer's figures."""
    topic = f"bench-catch-up-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(bootstrap_servers=bootstrap, events_topic=topic)
    batch = ConsumerSettings().batch_size
    try:
        yield f"relay of the log to Kafka: {await relay_to(log, kafka):,.0f} events/s"
        reading = await kafka_read_rate(kafka, total, batch)
        for name in consumers:
            await forget_consumers(log.database)
            alone = await appends_alone(log, BASELINE_SECONDS)
            source = KafkaTail(kafka, log.database, name, batch_size=batch, idle_seconds=0.05)
            pace, tenths, latencies = await catch_up(log, CONSUMERS[name](), source, total, alone)
            p99_without, p99_during = p99(alone.latencies), p99(latencies)
            yield CatchUp(name, "Kafka", total, reading, pace, tenths, p99_without, p99_during)
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


async def measure(
    database: Database,
    url: str,
    events: int,
    kafka: str | None,
    consumers: Sequence[str] = tuple(CONSUMERS),
    apart: bool = False,
) -> AsyncIterator[str]:
    """The figures, as lines to print, each as soon as it is measured."""
    filled = await fill(url, events)
    yield f"log: {filled.events:,} events (made and COPYed in {filled.seconds:.1f} s)"
    log = SqlEventLog(database, INLINE_PROJECTIONS)
    await until_readable(database)
    freeze_startup_heap()  # as `catalog serve` does once started
    async for figures in through_the_tail(log, url, filled.events, consumers, apart):
        for line in [figures] if isinstance(figures, str) else figures.lines():
            yield line
    if kafka:
        async for found in through_kafka(log, filled.events, kafka, consumers):
            for line in [found] if isinstance(found, str) else found.lines():
                yield line


async def main(args: argparse.Namespace) -> None:
    server = args.postgres or os.environ.get("CATALOG_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("give --postgres SERVER_URL or set CATALOG_TEST_POSTGRES_URL")
    kafka = args.kafka or os.environ.get("CATALOG_TEST_KAFKA_BOOTSTRAP")
    print(f"machine: {machine()}")
    async with scratch_database(server) as url:
        database = open_database(url)
        try:
            await upgrade(database)
            measured = measure(database, url, args.events, kafka, args.consumers, args.apart)
            async for line in measured:
                print(line, flush=True)
        finally:
            await database.close()


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="PostgreSQL server URL (a database is made on it)")
    parser.add_argument("--kafka", help="Kafka bootstrap HOST:PORT (else the tail only)")
    parser.add_argument("--consumers", type=names, default=list(CONSUMERS), help=CONSUMERS_HELP)
    parser.add_argument(
        "--apart",
        action="store_true",
        help="also catch up through the log's tail as a process of its own (`catalog consume`)",
    )
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
