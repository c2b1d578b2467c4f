"""Rebuilding the views from the log: empty them, then replay every event in commit order."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.ports import LOG_START
from infra.db.checkpoints import save_checkpoint
from infra.db.event_log import SqlEventLog, cursor_after

BATCH = 2000


async def rebuild_projections(log: SqlEventLog) -> int:
    """Replay the whole log into the (emptied) projection tables; returns the events replayed.

    The views are emptied and refilled in one transaction per batch; readers see the old rows
    until the first batch commits. (Rebuilding beside the live views, then switching, is the
    zero-downtime way and is not done here.)
    """
    async with log.transaction() as conn:
        for projection in log.projections:
            for table in projection.tables:
                await conn.execute(sa.delete(table))
    cursor, replayed = LOG_START, 0
    while batch := await log.read(cursor, BATCH):
        cursor = cursor_after(batch, cursor)
        async with log.transaction() as conn:
            await log.project(conn, batch)
            for projection in log.projections:
                await save_checkpoint(conn, projection.name, cursor)
        replayed += len(batch)
    return replayed
