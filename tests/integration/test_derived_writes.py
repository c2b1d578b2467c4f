"""Writes of derived data (a consumer's effects and place) commit without waiting for the disk;
every other write still waits, and the connection is left as it was for them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from infra.db.database import Database, open_database

SYNCED = {"postgresql": "on", "sqlite": 2}  # SQLite: FULL
NOT_SYNCED = {"postgresql": "off", "sqlite": 1}  # SQLite: NORMAL


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = open_database(database_url)
    yield opened
    await opened.close()


def commit_setting(conn: sa.Connection) -> object:
    if conn.dialect.name == "postgresql":
        return conn.execute(sa.text("SHOW synchronous_commit")).scalar_one()
    return conn.execute(sa.text("PRAGMA synchronous")).scalar_one()


def kept(conn: sa.Connection) -> object:
    conn.execute(sa.text("CREATE TABLE IF NOT EXISTS derived_probe (n INTEGER)"))
    conn.execute(sa.text("INSERT INTO derived_probe VALUES (1)"))
    return commit_setting(conn)


def probes(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM derived_probe")).scalar_one())


async def test_a_derived_write_is_committed_without_waiting_for_the_disk(
    database: Database,
) -> None:
    dialect = "postgresql" if database.postgres else "sqlite"

    assert await database.write_derived(kept) == NOT_SYNCED[dialect]
    assert await database.read(probes) == 1
    assert await database.write(kept) == SYNCED[dialect]
    assert await database.write(commit_setting) == SYNCED[dialect]


async def test_a_derived_write_that_fails_leaves_nothing_and_the_next_write_synced(
    database: Database,
) -> None:
    await database.write(kept)

    def fails(conn: sa.Connection) -> None:
        kept(conn)
        raise RuntimeError("the consumer's own failure")

    with pytest.raises(RuntimeError):
        await database.write_derived(fails)

    assert await database.read(probes) == 1
    dialect = "postgresql" if database.postgres else "sqlite"
    assert await database.write(commit_setting) == SYNCED[dialect]
