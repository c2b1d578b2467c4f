"""The log's statements run on PostgreSQL's driver directly (`infra/db/driver.py`), against the
real PostgreSQL: they write and read exactly what SQLAlchemy would, share the write's
transaction with SQLAlchemy's statements, and a connection lost under them is an outage that
leaves no broken connection behind."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.errors import DatabaseUnavailable
from catalog.events import EventMetadata, NewEvent
from catalog.events.image import ImageCreated
from catalog.ports import LOG_START
from infra.db.database import PostgresDatabase, open_database
from infra.db.driver import DriverStatement, connect
from infra.db.event_log import _PG_READ, SqlEventLog, _Append
from infra.db.migrate import upgrade
from infra.db.tables import event

pytestmark = pytest.mark.postgres

META = EventMetadata.model_validate(
    {"request_id": "req-driver", "actor": {"user_id": "u", "project_id": "p"}}
)


def created(name: str = "x", **properties: Any) -> NewEvent:
    return NewEvent(
        event=ImageCreated(name=name, properties=properties), occurred_at=datetime.now(UTC)
    )


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    database = open_database(postgres_url)
    assert isinstance(database, PostgresDatabase)
    await upgrade(database)
    yield database
    await database.close()


async def test_an_event_appended_on_the_driver_reads_back_as_one_written_through_sqlalchemy(
    database: PostgresDatabase,
) -> None:
    log = SqlEventLog(database)
    odd = {"say": 'ünïcode \u2028 "quoted" \\ \U0001f600', "empty": ""}
    on_driver = uuid.uuid4()
    await log.append(on_driver, 0, [created("ä", **odd)], META)  # one event: the driver's
    through_sqlalchemy = uuid.uuid4()
    two = [created("ä", **odd), created("ä", **odd)]  # several: SQLAlchemy's, one statement
    await log.append(through_sqlalchemy, 0, two, META)

    def rows(conn: sa.Connection) -> dict[uuid.UUID, list[dict[str, Any]]]:
        found: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for row in conn.execute(sa.select(event).order_by(event.c.position)):
            values = row._asdict()
            for varying in ("position", "commit_order", "event_id", "occurred_at"):
                values.pop(varying)
            found.setdefault(values.pop("stream_id"), []).append(values)
        return found

    written = await database.read(rows)
    assert written[on_driver] == written[through_sqlalchemy][:1]


async def test_the_tails_read_on_the_driver_gives_what_sqlalchemys_read_gives(
    database: PostgresDatabase,
) -> None:
    log = SqlEventLog(database)
    for name in ("a", "bc", "☃"):
        await log.append(uuid.uuid4(), 0, [created(name)], META)
    params = {"commit_order": "0", "position": 0, "limit": 10}

    def through_sqlalchemy(conn: sa.Connection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.execute(_PG_READ, params)]

    expected = await database.read(through_sqlalchemy)
    assert await database.read_held(DriverStatement(_PG_READ), params) == expected
    events = await log.read(LOG_START, 10)
    assert [e.data["name"] for e in events] == ["a", "bc", "☃"]
    assert all(e.occurred_at.tzinfo == UTC and isinstance(e.stream_id, uuid.UUID) for e in events)


async def test_driver_statements_join_the_writes_transaction_and_roll_back_with_it(
    database: PostgresDatabase,
) -> None:
    log = SqlEventLog(database)
    stream = uuid.uuid4()

    class Refused(Exception):
        pass

    def append_then_fail(conn: sa.Connection) -> None:
        request = _Append(stream, 0, (created(),), META)
        log._write(conn, request)  # the driver's insert, in this write's transaction
        conn.execute(sa.text("SELECT 1"))  # and SQLAlchemy's, in the same one
        raise Refused

    with pytest.raises(Refused):
        await database.write(append_then_fail)

    assert await log.load_stream(stream) == []
    await log.append(stream, 0, [created()], META)
    assert [e.version for e in await log.load_stream(stream)] == [1]


async def test_a_connection_ended_by_the_server_is_an_outage_at_most_once_then_replaced(
    database: PostgresDatabase,
) -> None:
    """The server ends every connection of the catalog (as a restart would): the next write
    fails as an outage (its connection was taken from the pool as it was), the tail's next
    read too or, its connection found closed, on a new one; everything after them works, on
    new connections, none of them broken."""
    log = SqlEventLog(database)
    await log.append(uuid.uuid4(), 0, [created()], META)  # a pooled connection
    assert len(await log.read(LOG_START, 10)) == 1  # the held one
    await _end_connections_of(database)

    with pytest.raises(DatabaseUnavailable):
        await log.append(uuid.uuid4(), 0, [created()], META)
    with contextlib.suppress(DatabaseUnavailable):
        await log.read(LOG_START, 10)

    for _ in range(3):  # the pool had only the one connection out: it was replaced
        await log.append(uuid.uuid4(), 0, [created()], META)
    assert len(await log.read(LOG_START, 10)) == 4


async def _end_connections_of(database: PostgresDatabase) -> None:
    admin = await connect(database.url)
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert ended >= 2
    finally:
        await admin.close()


def test_a_timestamp_parameter_is_bound_in_utc() -> None:
    insert = DriverStatement(sa.insert(event), columns=["occurred_at"])
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert insert.arguments({"occurred_at": moment}) == [moment]


def test_values_a_statement_carries_itself_are_bound_with_the_callers() -> None:
    later = sa.select(event.c.position).where(event.c.version > sa.bindparam("v")).limit(3)
    assert DriverStatement(later).arguments({"v": 7}) == [7, 3]
