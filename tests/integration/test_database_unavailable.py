"""The database adapter tells a database that cannot be reached (`DatabaseUnavailable`, logged
once) from work that went wrong on it (the driver's own error, unchanged), on both databases.
(tests/e2e/test_database_outage.py stops and starts a real PostgreSQL under a server.)"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from structlog.typing import EventDict

from catalog.errors import DatabaseUnavailable
from infra.db.database import SqliteDatabase, open_database

BUSY_SECONDS = 0.2


def said(logged: list[EventDict]) -> list[str]:
    return [entry["event"] for entry in logged if entry["event"].startswith("database_")]


def select_one(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT 1")).scalar_one())


def create_table(conn: sa.Connection) -> None:
    conn.execute(sa.text("CREATE TABLE once (id INTEGER PRIMARY KEY)"))


def add_row(conn: sa.Connection) -> None:
    conn.execute(sa.text("INSERT INTO once (id) VALUES (1)"))


async def test_a_constraint_violated_or_an_sql_error_is_the_work_s_own(
    database_url: str, logged: list[EventDict]
) -> None:
    database = open_database(database_url)
    try:
        await database.write(create_table)
        await database.write(add_row)
        with pytest.raises(sa.exc.IntegrityError):
            await database.write(add_row)
        with pytest.raises(sa.exc.DBAPIError) as raised:
            await database.read(lambda conn: conn.execute(sa.text("SELECT * FROM nowhere")))
        assert not isinstance(raised.value, DatabaseUnavailable)
    finally:
        await database.close()
    assert said(logged) == []


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port bound but not listening: every connection to it is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


@pytest.mark.parametrize("run", ["read", "write"])
async def test_a_postgresql_that_refuses_connections_is_unavailable_and_said_once(
    refusing_port: int, run: str, logged: list[EventDict]
) -> None:
    database = open_database(f"postgresql://catalog:secret@127.0.0.1:{refusing_port}/catalog")
    try:
        for _ in range(3):
            with pytest.raises(DatabaseUnavailable):
                await getattr(database, run)(select_one)
    finally:
        await database.close()
    assert said(logged) == ["database_unavailable"]
    assert "ConnectionRefusedError" in logged[0]["error"]
    assert "secret" not in logged[0]["database"]


async def test_a_sqlite_file_that_cannot_be_opened_is_unavailable(
    tmp_path: Path, logged: list[EventDict]
) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'missing' / 'catalog.db'}")
    try:
        with pytest.raises(DatabaseUnavailable):
            await database.read(select_one)
    finally:
        await database.close()
    assert said(logged) == ["database_unavailable"]


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    path = tmp_path / "catalog.db"
    database = SqliteDatabase(f"sqlite:///{path}", str(path), busy_seconds=BUSY_SECONDS)
    await database.write(create_table)
    yield database
    await database.close()


async def test_a_sqlite_file_locked_beyond_the_busy_timeout_is_unavailable_until_released(
    sqlite: SqliteDatabase, tmp_path: Path, logged: list[EventDict]
) -> None:
    other_process = sqlite3.connect(tmp_path / "catalog.db", isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
        for _ in range(2):
            with pytest.raises(DatabaseUnavailable):
                await sqlite.write(add_row)
        other_process.execute("ROLLBACK")
        await sqlite.write(add_row)
    finally:
        other_process.close()
    assert said(logged) == ["database_unavailable", "database_available_again"]
    assert "database is locked" in logged[0]["error"]
