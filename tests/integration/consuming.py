"""Running a consumer in a test until it has applied everything in the log."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from catalog.ports import LOG_START, LogCursor
from infra.bootstrap import Container
from infra.consumers.registry import job_for
from infra.consumers.runner import apply_delivery
from infra.consumers.sources import LogTail, checkpoint_name
from infra.db.checkpoints import load_checkpoint
from infra.db.tables import event
from tests.waiting import DEADLINE_SECONDS


async def consume_log(container: Container, name: str) -> int:
    """Feed consumer `name` from the log until it has applied every event appended before the
    call; returns the effects applied. (On PostgreSQL the never-skipping reader may see nothing
    for a while any transaction of the cluster runs, so an empty read is not the end.)"""
    job = job_for(container, name)
    source = LogTail(container.log, job.consumer.name, batch_size=50, idle_seconds=0.01)
    last = await container.database.read(_last_cursor)
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    applied = 0
    await source.start()
    try:
        while asyncio.get_running_loop().time() < deadline:
            delivery = await source.next()
            if delivery is None:
                if await container.database.read(_place, job.consumer.name) >= last:
                    return applied
                continue
            applied += await container.database.write(apply_delivery, job.consumer, delivery)
            await source.delivered(delivery)
    finally:
        await source.stop()
    raise AssertionError(f"consumer {name} did not reach the end of the log")


def _last_cursor(conn: sa.Connection) -> LogCursor:
    """The place just after the last event in commit order (readers' order, not positions')."""
    commit_order = sa.cast(sa.cast(event.c.commit_order, sa.Text), sa.BigInteger)
    last = conn.execute(
        sa.select(commit_order, event.c.position)
        .order_by(event.c.commit_order.desc(), event.c.position.desc())
        .limit(1)
    ).first()
    return LOG_START if last is None else LogCursor(last[0], last[1])


def _place(conn: sa.Connection, name: str) -> LogCursor:
    return load_checkpoint(conn, checkpoint_name(name))
