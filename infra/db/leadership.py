"""One holder at a time of a named job (the relay, a consumer tailing the log) per database."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

from sqlalchemy import text

from infra.db.database import Database, PostgresDatabase

RETRY_SECONDS = 1.0


def lock_key(job: str) -> int:
    """A stable 64-bit advisory lock key for a job's name."""
    return int.from_bytes(hashlib.sha256(f"catalog.{job}".encode()).digest()[:8], signed=True)


@contextlib.asynccontextmanager
async def leadership(database: Database, job: str) -> AsyncIterator[None]:
    """Wait until this process holds `job`'s lock, and hold it for as long as the block runs.

    PostgreSQL: a session advisory lock on a connection kept for the purpose; should that
    connection die, the lock goes with it and another process takes over. SQLite: one process
    owns the database, so there is nothing to share.
    """
    if not isinstance(database, PostgresDatabase):
        yield
        return
    key = lock_key(job)
    async with database.async_engine.connect() as conn:
        while not (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        ).scalar_one():
            await conn.commit()
            await asyncio.sleep(RETRY_SECONDS)
        await conn.commit()
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a dead connection has released it already
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
