"""Rebuilding the views from the log: empty them, then replay every event in commit order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlalchemy as sa

from catalog.events import RecordedEvent
from catalog.ports import LOG_START, LogCursor
from infra.db.checkpoints import save_checkpoint
from infra.db.event_log import SqlEventLog, cursor_after
from infra.db.tables import event

BATCH = 2000
HORIZON_POLL_SECONDS = 0.05


async def rebuild_projections(log: SqlEventLog) -> int:
    """Replay the whole log into the (emptied) projection tables; returns the events replayed.

    The views are emptied in the transaction of the first batch and refilled one transaction per
    batch; readers see the old rows until the first batch commits. (Rebuilding beside the live
    views, then switching, is the zero-downtime way and is not done here.)

    The log's reader stops short of any transaction still running on the database server (see
    `SqlEventLog.read`), so an empty read does not mean the end: the rebuild goes on until it
    has replayed at least every event committed when it started.
    """
    committed = await log.database.read(_event_count)
    cursor, replayed = LOG_START, 0
    while True:
        batch = await log.read(cursor, BATCH)
        if not batch:
            if replayed >= committed:
                return replayed
            await asyncio.sleep(HORIZON_POLL_SECONDS)
            continue
        await log.database.write(_replay, log, batch, cursor_after(batch, cursor), replayed == 0)
        cursor = cursor_after(batch, cursor)
        replayed += len(batch)


def _event_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(event)).scalar_one())


def _replay(
    conn: sa.Connection,
    log: SqlEventLog,
    batch: Sequence[RecordedEvent],
    cursor: LogCursor,
    empty_first: bool,
) -> None:
    if empty_first:
        for projection in log.projections:
            for table in projection.tables:
                conn.execute(sa.delete(table))
    log.project(conn, batch)
    for projection in log.projections:
        save_checkpoint(conn, projection.name, cursor)
