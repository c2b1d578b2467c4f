"""Rebuilding the views from the log: empty them, then replay every event in commit order."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from catalog.events import RecordedEvent
from catalog.ports import LOG_START, LogCursor
from infra.db.checkpoints import save_checkpoint
from infra.db.event_log import SqlEventLog, cursor_after

BATCH = 2000


async def rebuild_projections(log: SqlEventLog) -> int:
    """Replay the whole log into the (emptied) projection tables; returns the events replayed.

    The views are emptied and refilled in one transaction per batch; readers see the old rows
    until the first batch commits. (Rebuilding beside the live views, then switching, is the
    zero-downtime way and is not done here.)
    """
    await log.database.write(_empty_views, log)
    cursor, replayed = LOG_START, 0
    while batch := await log.read(cursor, BATCH):
        cursor = cursor_after(batch, cursor)
        await log.database.write(_replay, log, batch, cursor)
        replayed += len(batch)
    return replayed


def _empty_views(conn: sa.Connection, log: SqlEventLog) -> None:
    for projection in log.projections:
        for table in projection.tables:
            conn.execute(sa.delete(table))


def _replay(
    conn: sa.Connection, log: SqlEventLog, batch: Sequence[RecordedEvent], cursor: LogCursor
) -> None:
    log.project(conn, batch)
    for projection in log.projections:
        save_checkpoint(conn, projection.name, cursor)
