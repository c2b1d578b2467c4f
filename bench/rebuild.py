"""Rebuilding the views: events per second on PostgreSQL, against limits measured in the same run.

    python -m bench.rebuild [--events 1000000] [--batch 5000] [--postgres SERVER_URL]

Creates a database of its own on the PostgreSQL server (`CATALOG_TEST_POSTGRES_URL` unless
`--postgres`; dropped at the end), fills its log with a realistic history
(`bench/event_history.py`: images created and uploaded, patched, tagged, shared, copied, some
deleted, downloads) by COPY, not through the API, then prints:
- the limit: reading the whole log through the rebuild's own reader
  (`ReplayReader.after`: the horizon of `read`, events decoded), which a rebuild
  cannot beat;
- for comparison, the inline path's SQL: the first events applied one at a time
  (`Projection.apply`), committed in batches as the rebuild commits;
- the rebuild (`infra.projection_rebuild`) while a writer keeps appending: its events/s against
  the aim (30,000), the limit and the per-event path; its rate in each tenth of the replay, the
  last against the first (aim: within 20 %); the CPU it took per event, in its own process and
  in the database's server processes (from /proc, when the server runs on this machine), which
  a busy host disturbs less than its rate; how long the switch held appends; and whether the
  rebuilt view holds as many images as the log says.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from bench.event_history import COLUMNS, history, rows_in_chunks
from bench.run import machine
from bench.server import cpu_seconds_each
from bench.tenths import Tenths
from catalog.events import EventMetadata, ImageCreated, NewEvent
from catalog.ports import LOG_START
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.db.database import Database, open_database
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.migrate import upgrade
from infra.db.replay_reader import ReplayReader
from infra.projection_rebuild import INDEXING, RebuildResult, rebuild_projections
from infra.rebuild_progress import ProgressDisplay

AIM_EVENTS_PER_S = 30_000.0
AIM_LAST_TO_FIRST_TENTH = 0.8
COPY_CHUNK = 100_000
INLINE_SAMPLE = 20_000
WRITER_PAUSE_S = 0.02


@asynccontextmanager
async def scratch_database(server: str) -> AsyncIterator[str]:
    name = f"catalog_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass(frozen=True)
class Filled:
    events: int
    images: int
    deleted: int
    seconds: float


async def fill(url: str, events: int) -> Filled:
    """The log of `events` events, made up and COPYed in."""
    started = time.perf_counter()
    rows = history(events)
    connection = await asyncpg.connect(url)
    try:
        for records in rows_in_chunks(rows, COPY_CHUNK):
            await connection.copy_records_to_table("event", records=records, columns=COLUMNS)
        # As a log that has lived would have been: otherwise autovacuum's first pass over a
        # million new rows runs during the first tenths of the rebuild measured below.
        await connection.execute("VACUUM ANALYZE event")
    finally:
        await connection.close()
    count = Counter(row.event_type for row in rows)
    return Filled(
        len(rows),
        count["image.created"],
        count["image.deleted"],
        time.perf_counter() - started,
    )


async def until_readable(database: Database) -> None:
    """Wait until readers may pass every event filled in: they stop short of transactions in
    flight anywhere on the server (other databases' too), which a shared server has."""
    reader, last = ReplayReader(database), await database.read(last_position)
    passed = (await reader.horizon()).position >= last
    while not passed:
        await asyncio.sleep(0.1)
        passed = (await reader.horizon()).position >= last


def last_position(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT coalesce(max(position), 0) FROM event")).scalar_one())


async def log_read_rate(log: SqlEventLog, batch: int) -> float:
    """Events/s of reading the whole log through the rebuild's reader (events decoded)."""
    started, cursor, count = time.perf_counter(), LOG_START, 0
    reader = ReplayReader(log.database)
    while events := await reader.after(cursor, batch):
        cursor, count = cursor_after(events, cursor), count + len(events)
    return count / (time.perf_counter() - started)


async def inline_rate(log: SqlEventLog, count: int, batch: int) -> float:
    """Events/s of the inline path's SQL (`Projection.apply`, one event at a time), for the
    first `count` events, committed every `batch` events as the rebuild commits."""
    events = await log.read(LOG_START, count)
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        await log.database.write(log.project, events[start : start + batch])
    return len(events) / (time.perf_counter() - started)


class Writer:
    """Appends a new image every few milliseconds, timing each append."""

    def __init__(self, log: SqlEventLog) -> None:
        self.log = log
        self.latencies: list[float] = []
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        while not self.stopped.is_set():
            event = NewEvent(event=ImageCreated(name="live"), occurred_at=datetime.now(UTC))
            started = time.perf_counter()
            await self.log.append(uuid.uuid4(), 0, [event], EventMetadata())
            self.latencies.append(time.perf_counter() - started)
            await asyncio.sleep(WRITER_PAUSE_S)


async def rebuild_under_writes(
    log: SqlEventLog, batch: int
) -> tuple[RebuildResult, Writer, Tenths]:
    writer = Writer(log)
    tenths = Tenths(ProgressDisplay(sys.stderr), aside=(INDEXING,))
    writing = asyncio.create_task(writer.run())
    try:
        result = await rebuild_projections(log, tenths, batch_size=batch)
    finally:
        writer.stopped.set()
        await writing
    return result, writer, tenths


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds taken meanwhile by this process and by the server processes of a database."""

    process: float
    server: float | None
    """None when the database's server processes are not on this machine."""


@asynccontextmanager
async def cpu_use(database: str) -> AsyncIterator[list[CpuUse]]:
    """Yields a list that holds the CPU taken within the block once it ends."""
    taken: list[CpuUse] = []
    server_before = cpu_seconds_each(postgres_backends(database))
    process_before = time.process_time()
    yield taken
    process = time.process_time() - process_before
    server_after = cpu_seconds_each(postgres_backends(database))
    server = sum(s - server_before.get(pid, 0.0) for pid, s in server_after.items())
    taken.append(CpuUse(process, server if server_after else None))


def postgres_backends(database: str) -> list[int]:
    """The processes of a PostgreSQL server on this machine serving `database` (each one's
    title names its database)."""
    backends = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile, or not ours to read
        if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
            backends.append(int(entry.name))
    return backends


def _view_rows(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM image")).scalar_one())


async def main(args: argparse.Namespace) -> None:
    server = args.postgres or os.environ.get("CATALOG_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("give --postgres SERVER_URL or set CATALOG_TEST_POSTGRES_URL")
    print(f"machine: {machine()}")
    async with scratch_database(server) as url:
        database = open_database(url)
        try:
            await upgrade(database)
            await run(database, url, args)
        finally:
            await database.close()


async def run(database: Database, url: str, args: argparse.Namespace) -> None:
    version = await database.read(lambda c: c.execute(sa.text("SHOW server_version")).scalar())
    filled = await fill(url, args.events)
    print(
        f"database: PostgreSQL {version}; log: {filled.events:,} events over"
        f" {filled.images:,} images, {filled.deleted:,} of them deleted"
        f" (made and COPYed in {filled.seconds:.1f} s)"
    )
    log = SqlEventLog(database, INLINE_PROJECTIONS)
    await until_readable(database)
    limit = await log_read_rate(log, args.batch)
    print(f"limit: reading the whole log (ReplayReader.after, decoded): {limit:,.0f} events/s")
    inline = await inline_rate(log, INLINE_SAMPLE, args.batch)
    print(
        f"per-event apply (the inline path's SQL), first {INLINE_SAMPLE:,} events:"
        f" {inline:,.0f} events/s"
    )
    async with cpu_use(url.rpartition("/")[2]) as taken:
        result, writer, tenths = await rebuild_under_writes(log, args.batch)
    rate = result.events_per_second
    print(
        f"rebuild while a writer appends: {result.events:,} events in {result.seconds:.1f} s"
        f" = {rate:,.0f} events/s = {rate / AIM_EVENTS_PER_S:.2f}x the aim of"
        f" {AIM_EVENTS_PER_S:,.0f} = {rate / limit:.1%} of the limit"
        f" = {rate / inline:.1f}x per-event apply"
    )
    print(f"rebuild {tenths.report()} (aim >= {AIM_LAST_TO_FIRST_TENTH:.2f})")
    print(f"rebuild's process: {tenths.cpu_report()}")
    cpu, per_event = taken[0], 1e6 / max(result.events, 1)
    server = "not on this machine" if cpu.server is None else f"{cpu.server * per_event:.1f} µs"
    print(
        f"CPU per event: the rebuild's process {cpu.process * per_event:.1f} µs,"
        f" the database's server processes {server}"
    )
    print(
        f"switch: appends held {result.held_seconds * 1000:.0f} ms; the writer:"
        f" {len(writer.latencies):,} appends, slowest {max(writer.latencies) * 1000:.0f} ms"
    )
    expected = filled.images - filled.deleted + len(writer.latencies)
    shown = await database.read(_view_rows)
    print(f"images in the rebuilt view: {shown:,} (the log says {expected:,})")
    if shown != expected:
        raise SystemExit("the rebuilt view does not match the log")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000, help="events per rebuild batch")
    parser.add_argument("--postgres", help="PostgreSQL server URL (a database is made on it)")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
