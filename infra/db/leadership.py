"""One holder at a time of a named job (the relay, a consumer tailing the log) per database."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.errors import DatabaseUnavailable
from infra.db.database import Database, PostgresDatabase

RETRY_SECONDS = 1.0
CHECK_SECONDS = 1.0
"""How often a holder's session is asked whether it is still there, and its lock with it."""


def lock_key(job: str) -> int:
    """A stable 64-bit advisory lock key for a job's name."""
    return int.from_bytes(hashlib.sha256(f"catalog.{job}".encode()).digest()[:8], signed=True)


class Lease:
    """A job's lock while its holder runs: `check` raises `DatabaseUnavailable` once the lock
    is gone with its session, so that the holder stops and takes the lock again."""

    def __init__(self) -> None:
        self.lost = False

    def check(self) -> None:
        if self.lost:
            raise DatabaseUnavailable()


@contextlib.asynccontextmanager
async def leadership(database: Database, job: str) -> AsyncIterator[Lease]:
    """Wait until this process holds `job`'s lock, and hold it for as long as the block runs.

    PostgreSQL: a session advisory lock on a connection kept for the purpose. Should that
    session end (the database restarted, the connection was cut), the lock goes with it and
    another process may take over: the session is asked every second whether it is still
    there, and the holder, which checks its lease before each step of its work, learns it at
    its next step even if none of its own work met the outage. SQLite: one process owns the
    database, so there is nothing to share and nothing to lose.
    """
    lease = Lease()
    if not isinstance(database, PostgresDatabase):
        yield lease
        return
    key = lock_key(job)
    async with contextlib.AsyncExitStack() as held:
        with database.availability.watch():
            conn = await held.enter_async_context(database.async_engine.connect())
        await _take_lock(database, conn, key)
        checking = asyncio.create_task(_keep_checking(conn, lease))
        try:
            yield lease
        finally:
            checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checking
            with contextlib.suppress(Exception):  # a dead connection has released it already
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()


async def _take_lock(database: Database, conn: AsyncConnection, key: int) -> None:
    """Until this session holds the lock. Another process's release is not signalled, so it
    asks again every `RETRY_SECONDS`; each attempt alone is watched for an outage."""
    while True:
        with database.availability.watch():
            took = await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            held = bool(took.scalar_one())
            await conn.commit()
        if held:
            return
        await asyncio.sleep(RETRY_SECONDS)


async def _keep_checking(conn: AsyncConnection, lease: Lease) -> None:
    # Not watched for outages: a session that died with a database since restarted says
    # nothing of the database now, and a database that is down is found by the holder's work.
    while not lease.lost:
        await asyncio.sleep(CHECK_SECONDS)
        try:
            await conn.execute(text("SELECT 1"))
            await conn.commit()
        except Exception:  # whatever ended the session, it took the lock
            lease.lost = True
