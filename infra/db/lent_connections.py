"""PostgreSQL connections kept out of SQLAlchemy's pool and lent to one unit of work at a time.

Taking a connection from the pool and handing it back cost a unit of work about as much as a
statement did (its characteristics set and reset, the pool's events and its reset on return,
hops across the greenlet bridge; docs/performance.md, "The log's statements on the driver,
connections kept between units"). So a process keeps up to `keep` connections here between
units: a unit takes one that is idle, or one from the pool when none is. The pool still counts
them as in use, so its size and timeout (`DatabaseBusy`) still bound the whole process.

A connection comes back here only from a unit that ended well; after a failure it goes back
to the pool, which resets it (or drops it, invalidated). A driver's error that left the
connection unusable is an outage (`ConnectionLost`), and the connection is invalidated. One
older than `recycle_seconds` goes back to the pool too, whose recycling then retires it before
servers time it out. And while the pool has given out all it may (`most`), each connection goes
back to it: a unit may be waiting there for one, and must not wait while connections sit idle here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from infra.db.driver import ConnectionLost, lost_connection


@dataclass(frozen=True)
class Lent:
    """A connection lent to a unit of work."""

    conn: AsyncConnection
    driver: asyncpg.Connection
    """The asyncpg connection under `conn`, for statements run on the driver."""
    taken_at: float


class LentConnections:
    def __init__(
        self, engine: AsyncEngine, *, keep: int, most: int, recycle_seconds: float
    ) -> None:
        self._engine = engine
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        self._pool = pool
        self._keep = keep
        self._most = most
        self._recycle_seconds = recycle_seconds
        self._idle: list[Lent] = []
        self._closed = False

    @contextlib.asynccontextmanager
    async def lend(self) -> AsyncIterator[Lent]:
        lent = self._idle.pop() if self._idle else await self._taken()
        try:
            yield lent
        except Exception as error:
            if lost_connection(error, lent.driver) and not isinstance(error, SQLAlchemyError):
                # Broken under the driver's own statements, which the pool never sees (where
                # SQLAlchemy's statements met it, SQLAlchemy invalidated it and told it).
                await lent.conn.invalidate()
                raise ConnectionLost(str(error)) from error
            await lent.conn.close()
            raise
        except BaseException:
            await lent.conn.close()
            raise
        if (
            not self._closed
            and len(self._idle) < self._keep
            and self._pool.checkedout() < self._most
            and not lent.conn.invalidated
            and time.monotonic() - lent.taken_at < self._recycle_seconds
        ):
            self._idle.append(lent)
        else:
            await lent.conn.close()

    async def close(self) -> None:
        """Hand every idle connection back to the pool (before the engine is disposed of);
        a unit still running hands its own back when it ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for lent in idle:
            await lent.conn.close()

    async def _taken(self) -> Lent:
        conn = await self._engine.connect()
        try:
            driver = (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.close()
            raise
        assert isinstance(driver, asyncpg.Connection)
        return Lent(conn, driver, time.monotonic())
