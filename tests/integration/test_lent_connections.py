"""The connections a PostgreSQL process keeps between units of work (`LentConnections`),
against the real PostgreSQL: kept after a unit that ended well, given back to the pool after
one that failed, and never kept idle while a unit waits in the pool for one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import await_only

from infra.db.database import Pool, PostgresDatabase, open_database, postgres_async_url
from infra.db.lent_connections import LentConnections
from tests.waiting import until

pytestmark = pytest.mark.postgres

POOL_TIMEOUT = 60.0
"""Long enough for any host: a unit that waited it out would fail the test, not the host."""


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    database = open_database(postgres_url, pool=Pool(size=1, timeout_seconds=POOL_TIMEOUT))
    assert isinstance(database, PostgresDatabase)
    yield database
    await database.close()


def backend(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


async def test_units_one_after_another_share_one_kept_connection(
    database: PostgresDatabase,
) -> None:
    first = await database.read(backend)
    assert await database.write(backend) == first
    assert await database.read(backend) == first


async def test_a_failed_unit_gives_its_connection_back_to_the_pool(
    database: PostgresDatabase,
) -> None:
    def failing(conn: sa.Connection) -> None:
        conn.execute(sa.text("SELECT 1/0"))

    await database.read(backend)
    with pytest.raises(sa.exc.DBAPIError, match="division by zero"):
        await database.read(failing)
    assert database.async_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_unit_waiting_in_the_pool_gets_the_next_connection_that_comes_back(
    database: PostgresDatabase,
) -> None:
    """Both connections the pool may give (one and its overflow) are held; a third unit waits
    in the pool. The first to finish gives its connection to the pool, not to the process's
    idle ones, so the waiting unit goes on (it would otherwise wait out its timeout)."""
    release = [asyncio.Event(), asyncio.Event()]
    holding: dict[int, int] = {}  # a holder's number: its connection's backend

    def held(conn: sa.Connection, number: int) -> None:
        holding[number] = backend(conn)
        await_only(release[number].wait())

    holders = [asyncio.create_task(database.read(held, number)) for number in range(2)]

    async def both_held() -> bool:
        return len(holding) == 2

    try:
        await until(both_held, "both connections held")
        waiting = asyncio.create_task(database.read(backend))
        await asyncio.sleep(0.1)
        assert not waiting.done()

        release[0].set()
        assert await waiting == holding[0]  # (kept idle, it would fail with `DatabaseBusy`)
    finally:
        for released in release:
            released.set()
        await asyncio.gather(*holders)


async def test_a_unit_still_running_as_they_close_hands_its_connection_back(
    postgres_url: str,
) -> None:
    """Closed while a unit runs (a background job ending as the process stops), the kept
    connections leave none behind: the unit's goes back to the pool when it ends."""
    engine = create_async_engine(postgres_async_url(postgres_url))
    connections = LentConnections(engine, keep=2, most=4, recycle_seconds=60.0)
    release, running = asyncio.Event(), asyncio.Event()

    async def unit() -> None:
        async with connections.lend():
            running.set()
            await release.wait()

    try:
        job = asyncio.create_task(unit())
        await running.wait()
        await connections.close()
        release.set()
        await job
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
