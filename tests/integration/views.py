"""Helpers for tests of the views: their rows, a log filled without the API, reading it whole."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from bench.event_history import StoredRow
from catalog.events import RecordedEvent, ReplayEvent
from catalog.ports import LOG_START, LogCursor
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.db.database import Database
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.tables import event
from tests.waiting import DEADLINE_SECONDS

LIVE_TABLES = tuple(t for projection in INLINE_PROJECTIONS for t in projection.tables)

Rows = dict[str, list[dict[str, Any]]]
E = TypeVar("E", RecordedEvent, ReplayEvent)


def table_rows(conn: sa.Connection, tables: Mapping[str, sa.Table] | None = None) -> Rows:
    """Every row of the views (of `tables`' stand-ins when given, under the live names),
    in primary-key order, compared as values."""
    rows: Rows = {}
    for live in LIVE_TABLES:
        table = (tables or {}).get(live.name, live)
        key = [table.c[c.name] for c in live.primary_key]
        rows[live.name] = [r._asdict() for r in conn.execute(sa.select(table).order_by(*key))]
    return rows


async def view_rows(database: Database, tables: Mapping[str, sa.Table] | None = None) -> Rows:
    return await database.read(table_rows, tables)


def _store(conn: sa.Connection, rows: Sequence[StoredRow]) -> None:
    conn.execute(
        sa.insert(event),
        [
            {
                "stream_id": r.stream_id,
                "version": r.version,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "schema_version": r.schema_version,
                "data": json.loads(r.data),
                "metadata": json.loads(r.metadata),
                "occurred_at": r.occurred_at,
            }
            for r in rows
        ],
    )


async def store_history(database: Database, rows: Sequence[StoredRow]) -> None:
    """Put events straight into the log (no projection runs)."""
    await database.write(_store, rows)


async def read_whole(
    read: Callable[[LogCursor, int], Awaitable[list[E]]], count: int, limit: int = 1000
) -> list[E]:
    """All `count` events of the log, in log order. The reader stops short of transactions in
    flight anywhere on the server (other tests'), so an empty read is waited out."""
    events: list[E] = []
    cursor = LOG_START
    async with asyncio.timeout(DEADLINE_SECONDS):
        while len(events) < count:
            batch = await read(cursor, limit)
            if not batch:
                await asyncio.sleep(0.05)
                continue
            events += batch
            cursor = cursor_after(batch, cursor)
    return events


async def project_one_by_one(log: SqlEventLog, events: Iterable[RecordedEvent]) -> None:
    """The inline path: each event through `Projection.apply`, on the live tables."""

    def apply(conn: sa.Connection) -> None:
        for recorded in events:
            log.project(conn, [recorded])

    await log.database.write(apply)
