"""Long work in one unit of database work gives the event loop its turns where it runs on the
loop (PostgreSQL), in its transaction; where it runs in a thread (SQLite) it simply goes on."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from infra.db.database import open_database
from infra.db.loop_turns import LoopTurns

SELECT_ONE = sa.text("SELECT 1")


async def test_work_holding_the_loop_for_its_slice_lets_what_waits_run(
    database_url: str,
) -> None:
    database = open_database(database_url)
    loop = asyncio.get_running_loop()
    ran: list[str] = []

    def work(conn: sa.Connection, slice_seconds: float) -> tuple[list[str], list[str]]:
        conn.execute(SELECT_ONE)
        loop.call_soon_threadsafe(ran.append, "waiting")
        before = list(ran)
        LoopTurns(conn, slice_seconds).step()
        after = list(ran)
        conn.execute(SELECT_ONE)  # the transaction goes on
        return before, after

    try:
        within_slice = await database.write(work, 3600.0)
        await asyncio.sleep(0)
        ran.clear()
        past_slice = await database.write(work, 0.0)
    finally:
        await database.close()

    if database.postgres:
        assert within_slice == ([], [])
        assert past_slice == ([], ["waiting"])
