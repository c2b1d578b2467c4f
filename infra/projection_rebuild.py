"""Rebuilding the views from the log beside the live ones, then switching to them at once.

1. Prepare: drop what an interrupted rebuild left behind, create empty copies of the view
   tables with the live tables' own DDL (`infra/db/rebuild_tables.py`).
2. Replay what the log holds now (up to its horizon: what `SqlEventLog.read` may pass) stream
   by stream, batch by batch, into the copies through the projections' batch path, one
   transaction per batch, while the service goes on reading and writing the live tables.
3. Index the copies (PostgreSQL), then catch up in log order from that horizon with what was
   appended meanwhile (`SqlEventLog.read`'s way: never skipping an event).
4. Switch, in one short transaction: hold new appends (those in flight commit first), lock the
   live tables, replay the last events, drop the live tables and give their names (and their
   indexes' and constraints' names) to the copies. Appends that waited then write to the new
   tables: their statements find the tables by name.

Interrupted anywhere before the switch commits (Ctrl-C, a crash), the live views are untouched;
the copies are dropped on the way out when possible, and by the next run otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from catalog.events import ReplayEvent
from catalog.ports import LOG_START, LogCursor
from infra.db.checkpoints import save_checkpoint
from infra.db.database import PostgresDatabase
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.rebuild_tables import RebuildError, RebuildTables, rebuild_tables_for
from infra.db.replay_reader import (
    STREAMS_START,
    ReplayReader,
    stream_cursor_after,
    whole_streams,
)
from infra.db.tables import event

__all__ = ["RebuildError", "RebuildProgress", "RebuildResult", "rebuild_projections"]

BATCH = 5000
INDEX_BUILDERS = 2
"""Indexes built at once after the replay: PostgreSQL builds each on one core (a view's indexes
are too small for its parallel builds), and the rebuild's process waits meanwhile."""
INDEXING = "indexing the new tables"
"""The phase between the replay and the catch-up (PostgreSQL builds the copies' indexes)."""
SWITCH_ATTEMPTS = 20
GC_THRESHOLD = 100_000
REBUILD_LOCK_KEY = 0x636174616C6F6702  # "catalog" + 2: one rebuild per database
LOCK_TIMEOUT_SQLSTATE = "55P03"


class RebuildProgress(Protocol):
    """Told how the rebuild goes (see `infra/rebuild_progress.py`)."""

    def phase(self, name: str) -> None: ...

    def advance(self, replayed: int, total: int) -> None: ...


class _Silent:
    def phase(self, name: str) -> None:
        pass

    def advance(self, replayed: int, total: int) -> None:
        pass


@dataclass(frozen=True)
class RebuildResult:
    events: int
    """Events replayed into the new views."""
    seconds: float
    held_seconds: float
    """How long the switch held appends back (and kept readers of the views waiting)."""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"rebuilt the views from {self.events} events in {self.seconds:.1f} s"
            f" ({self.events_per_second:,.0f} events/s); appends held"
            f" {self.held_seconds * 1000:.0f} ms at the switch"
        )


async def rebuild_projections(
    log: SqlEventLog, progress: RebuildProgress | None = None, *, batch_size: int = BATCH
) -> RebuildResult:
    """Rebuild every projection of `log` into new tables and switch to them."""
    started = time.monotonic()
    live = [table for projection in log.projections for table in projection.tables]
    async with _one_rebuild_at_a_time(log), _rare_collections():
        tables = rebuild_tables_for(log.postgres, live)
        await log.database.write(tables.drop_leftovers)
        await log.database.write(tables.create)
        try:
            run = _Run(log, tables, progress or _Silent(), batch_size)
            await run.prepare()
            run.progress.phase("replaying the log into new tables")
            await run.replay_streams()
            run.progress.phase(INDEXING)
            await run.build_indexes()
            run.progress.phase("catching up")
            await run.catch_up()
            run.progress.phase("switching")
            held = await run.switch()
        except BaseException:
            with contextlib.suppress(Exception):
                await log.database.write(tables.drop_leftovers)
            raise
    return RebuildResult(run.replayed, time.monotonic() - started, held)


@dataclass(frozen=True)
class _Batch:
    """Events read for the replay, in the order to apply them."""

    events: list[ReplayEvent]
    more: bool
    """The read came back full: the log may hold more after it."""
    new_streams: frozenset[uuid.UUID] = frozenset()
    """Streams of `events` none of whose events the new tables have seen yet."""


class _Run:
    """One rebuild's place in the log and its replay."""

    def __init__(
        self, log: SqlEventLog, tables: RebuildTables, progress: RebuildProgress, batch: int
    ) -> None:
        self.log, self.tables, self.progress, self.batch = log, tables, progress, batch
        self.reader = ReplayReader(log.database)
        self.cursor: LogCursor = LOG_START
        self.replayed = 0
        self.total = 0
        self.lock_timeout = "0"

    async def prepare(self) -> None:
        self.total = await self.log.database.read(_event_count)
        if self.log.postgres:
            deadlock_ms = await self.log.database.read(_deadlock_timeout_ms)
            # Below the server's deadlock timeout, so that the switch gives way first (see
            # `_switch_in`), even after waiting for the log and then for each view table.
            self.lock_timeout = f"{max(1, deadlock_ms // 5)}ms"

    def _advanced(self, count: int) -> None:
        self.replayed += count
        self.total = max(self.total, self.replayed)
        self.progress.advance(self.replayed, self.total)

    async def replay_streams(self) -> None:
        """Replay every event committed now, stream by stream: each image is folded whole in
        memory and written once. Batches end where a stream ends (`whole_streams`), so the
        projections read no row back for the streams a batch starts (`new_streams`): the
        cost of a batch does not grow with the tables filled so far. Afterwards the rebuild
        goes on in log order from there (`catch_up`)."""
        upto, after = await self.reader.horizon(), STREAMS_START

        async def read() -> _Batch:
            start = after
            events = await self.reader.streams(upto, start, self.batch)
            kept = whole_streams(events, self.batch)
            new = frozenset(e.stream_id for e in kept) - {start.stream_id}
            return _Batch(kept, len(events) == self.batch, new)

        def passed(batch: list[ReplayEvent]) -> None:
            nonlocal after
            after = stream_cursor_after(batch, after)

        await self._replay(read, passed)
        self.cursor = upto

    async def build_indexes(self) -> None:
        """Build the new tables' other indexes, `INDEX_BUILDERS` at a time, then gather their
        statistics."""
        builds = await self.log.database.read(self.tables.index_builds)

        async def builder() -> None:
            while builds:
                await self.log.database.write(_execute, builds.pop(0))

        async with asyncio.TaskGroup() as builders:
            for _ in range(INDEX_BUILDERS):
                builders.create_task(builder())
        await self.log.database.write(self.tables.analyze)

    async def catch_up(self) -> None:
        """Replay in log order until a read comes back short: the reader is at its horizon."""

        async def read() -> _Batch:
            events = await self.reader.after(self.cursor, self.batch)
            return _Batch(events, len(events) == self.batch)

        def passed(batch: list[ReplayEvent]) -> None:
            self.cursor = cursor_after(batch, self.cursor)

        await self._replay(read, passed)

    async def _replay(
        self,
        read: Callable[[], Awaitable[_Batch]],
        passed: Callable[[list[ReplayEvent]], None],
    ) -> None:
        """Apply what `read` returns, batch after batch, until one comes back short. While a
        batch is written, the next one is read and prepared (`SqlEventLog.prepare_batch`: its
        rows made, in a thread, without the database), so that the rebuild's process works on
        it while the server takes the writes. The writes stay one at a time and in order, one
        transaction per batch: no two of them ever hold locks at once (the metadata
        definitions' resource types are shared between streams). The new tables are derived
        data that nobody reads before the switch, and a rebuild cut short starts over: their
        commits do not wait for the disk (the switch's does, and so makes them durable)."""

        async def prepared() -> tuple[_Batch, Callable[[sa.Connection], None]]:
            batch = await read()
            prepare, copies = self.log.prepare_batch, self.tables.copies
            return batch, await asyncio.to_thread(prepare, batch.events, copies, batch.new_streams)

        reading = asyncio.ensure_future(prepared())
        try:
            while True:
                batch, write = await reading
                passed(batch.events)
                if batch.more:
                    reading = asyncio.ensure_future(prepared())
                if batch.events:
                    await self.log.database.write_derived(write)
                    self._advanced(len(batch.events))
                if not batch.more:
                    return
        finally:
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading

    async def switch(self) -> float:
        """Put the new tables in place; returns how long appends were held."""
        for attempt in range(SWITCH_ATTEMPTS):
            started = time.monotonic()
            try:
                cursor, count = await self.log.database.write(self._switch_in)
            except sa.exc.DBAPIError as e:
                if getattr(e.orig, "sqlstate", None) != LOCK_TIMEOUT_SQLSTATE:
                    raise
            else:
                self.cursor = cursor
                self._advanced(count)
                return time.monotonic() - started
            self.progress.phase("the views were busy: catching up, then switching again")
            await asyncio.sleep(random.uniform(0.5, 1.0) * min(0.05 * 2**attempt, 1.0))
            await self.catch_up()
        raise RebuildError(f"the views stayed busy through {SWITCH_ATTEMPTS} attempts to switch")

    def _switch_in(self, conn: sa.Connection) -> tuple[LogCursor, int]:
        """The switch transaction: the new cursor and how many events it replayed.

        On PostgreSQL the locks are asked for with a timeout below the deadlock timeout: a
        transaction that holds a view table and now waits behind the held appends (a quota
        check reads the view before appending) would otherwise be a deadlock, and the server
        could end that transaction instead of this one. Giving way costs a retry, not a 500.
        """
        if self.log.postgres:
            conn.execute(sa.select(sa.func.set_config("lock_timeout", self.lock_timeout, True)))
        self.log.hold_appends(conn)
        self.tables.lock_live(conn)
        cursor, count = self.cursor, 0
        while batch := self.reader.after_on(conn, cursor, self.batch, held=True):
            self.log.project_batch(conn, batch, self.tables.copies)
            cursor, count = cursor_after(batch, cursor), count + len(batch)
        for projection in self.log.projections:
            save_checkpoint(conn, projection.name, cursor)
        self.tables.check_unchanged(conn)
        self.tables.put_in_place(conn)
        return cursor, count


@contextlib.asynccontextmanager
async def _rare_collections() -> AsyncIterator[None]:
    """Collect cycles rarely while the rebuild runs.

    A replay allocates millions of short-lived containers (rows, events, changes), freed by
    their reference counts. With Python's default thresholds the cycle collector still runs
    every 700 allocations, and every 70,000 or so over every object alive: measured, a third
    of the rebuild's CPU. Objects alive before the rebuild are frozen out of it meanwhile.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@contextlib.asynccontextmanager
async def _one_rebuild_at_a_time(log: SqlEventLog) -> AsyncIterator[None]:
    """A second rebuild would drop the first one's tables as leftovers: PostgreSQL refuses it
    with a session advisory lock (SQLite's embedded catalog is run by one operator)."""
    database = log.database
    if not isinstance(database, PostgresDatabase):
        yield
        return
    async with database.async_engine.connect() as conn:
        lock = sa.text("SELECT pg_try_advisory_lock(:k)")
        if not (await conn.execute(lock, {"k": REBUILD_LOCK_KEY})).scalar_one():
            raise RebuildError("another rebuild of the views is running on this database")
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": REBUILD_LOCK_KEY})
            await conn.commit()


def _execute(conn: sa.Connection, statement: str) -> None:
    conn.execute(sa.text(statement))


def _event_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(event)).scalar_one())


def _deadlock_timeout_ms(conn: sa.Connection) -> int:
    query = sa.text("SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout'")
    return int(conn.execute(query).scalar_one())
