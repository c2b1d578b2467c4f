"""Long work in one unit of database work gives the event loop its turns where it runs on the
loop (PostgreSQL), in its transaction, and waits there while the process's live work runs;
where it runs in a thread (SQLite) it simply goes on."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from infra.db import loop_turns
from infra.db.database import open_database
from infra.db.loop_turns import LoopTurns
from infra.live_work import LiveWork

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


async def turns_beside_live_work(
    database_url: str, monkeypatch: pytest.MonkeyPatch, *, give_way: bool
) -> list[str]:
    """The order in which a request running meanwhile and a unit's work past its step end.
    Where the work should wait (giving way, on the loop), the request ends 20 turns of the
    loop after the work reached its step; elsewhere only once the work went on (it would
    never end, should the work wait)."""
    should_wait = give_way and database_url.startswith("postgresql")
    live = LiveWork(live_seconds=3600.0, give_way_most=3600.0)
    monkeypatch.setattr(loop_turns, "LIVE_WORK", live)
    database = open_database(database_url)
    loop = asyncio.get_running_loop()
    order: list[str] = []
    at_its_step, gone_on = asyncio.Event(), asyncio.Event()

    async def request() -> None:
        with live.running():
            await at_its_step.wait()
            for _ in range(20):  # the request's own awaits, each a turn of the loop
                await asyncio.sleep(0)
            if not should_wait:
                await gone_on.wait()
            order.append("live work ends")

    def work(conn: sa.Connection) -> None:
        conn.execute(SELECT_ONE)
        loop.call_soon_threadsafe(at_its_step.set)
        LoopTurns(conn, 0.0, give_way=give_way).step()
        order.append("background work goes on")
        loop.call_soon_threadsafe(gone_on.set)
        conn.execute(SELECT_ONE)  # the transaction goes on

    serving = asyncio.create_task(request())
    try:
        await asyncio.wait_for(database.write(work), 60)
        await asyncio.wait_for(serving, 60)
    finally:
        await database.close()
    return order


async def test_work_that_gives_way_waits_at_its_step_for_the_live_work_running(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await turns_beside_live_work(database_url, monkeypatch, give_way=True)

    if database_url.startswith("postgresql"):
        assert order == ["live work ends", "background work goes on"]
    else:  # in SQLite's thread, holding the write lock: it never waits
        assert order == ["background work goes on", "live work ends"]


async def test_other_work_only_hands_the_loop_over(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the effects done inside an append (itself live work) and a consumer following the
    log's head: they would wait for themselves, or keep a reader waiting."""
    order = await turns_beside_live_work(database_url, monkeypatch, give_way=False)

    assert order == ["background work goes on", "live work ends"]
