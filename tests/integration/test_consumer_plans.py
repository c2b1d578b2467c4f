"""The statements a consumer runs for every batch find its records by their key, whatever its
tables (and the log) held when PostgreSQL planned them.

A prepared statement is planned for its first runs' values, then, often, once for any values
(a generic plan), kept until the table's statistics are next gathered. A consumer's first
batches run on empty tables: a statement that joins a list of streams to the table may then
be planned to hash the consumer's every record, and go on doing so, each batch, as the table
grows. Each statement here is planned generically on empty tables, the tables then filled,
and the kept plan must look the records up by key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from infra.db import consumer_folds, consumer_state, event_log
from infra.db.database import open_database
from infra.db.driver import DriverStatement
from infra.db.migrate import upgrade

pytestmark = pytest.mark.postgres

RECORDS = 20_000
STREAMS = [uuid.UUID(int=n) for n in (1, 2, 3)]
"""Streams the tables hold (`_fill`), in key order."""
FOLD = {"versions": [2] * 3, "fingerprints": ["f" * 64] * 3, "states": ["[]"] * 3}
STATEMENTS = [
    pytest.param(
        DriverStatement(consumer_state._PG_APPLIED_VERSIONS),
        {"streams": STREAMS},
        "Index Cond",
        id="applied versions",
    ),
    pytest.param(
        consumer_state._PG_MOVE_APPLIED,
        {"streams": STREAMS, "versions": [2] * 3},
        "Conflict Arbiter Indexes: pk_consumer_applied",
        id="applied moved",
    ),
    pytest.param(consumer_folds._PG_LOAD, {"streams": STREAMS}, "Index Cond", id="folds loaded"),
    pytest.param(
        consumer_folds._PG_SAVE,
        {"streams": STREAMS, **FOLD},
        "Conflict Arbiter Indexes: pk_consumer_fold",
        id="folds saved",
    ),
    pytest.param(consumer_folds._PG_FORGET, {"streams": STREAMS}, "TID Cond", id="folds forgotten"),
    pytest.param(
        DriverStatement(event_log._PG_STREAMS_BETWEEN),
        {"ids": STREAMS, "afters": [0] * 3, "befores": [3] * 3},
        "Index Cond",
        id="histories read",
    ),
]


def _literal(value: Any) -> str:
    """`value` as SQL text, typed as the statement's parameter is."""
    if isinstance(value, list):
        kinds = {uuid.UUID: "uuid", int: "integer", str: "text"}
        items = ", ".join(_literal(item) for item in value)
        return f"ARRAY[{items}]::{kinds[type(value[0])]}[]"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _fill(conn: sa.Connection) -> None:
    conn.exec_driver_sql(
        "INSERT INTO event (commit_order, stream_id, version, event_id, event_type,"
        " schema_version, data, metadata, occurred_at)"
        " SELECT pg_current_xact_id(), s, v, gen_random_uuid(), 'image.tag_added', 1,"
        " '{}', '{}', now()"
        f" FROM (SELECT gen_random_uuid() AS s FROM generate_series(1, {RECORDS // 2})) AS streams,"
        " generate_series(1, 2) AS v"
    )
    for table, columns, values in (
        ("consumer_applied", "consumer, stream_id, version", "1"),
        ("consumer_fold", "consumer, stream_id, version, fingerprint, state", "1, 'x', '[]'"),
    ):
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({columns}) SELECT 'c', gen_random_uuid(), {values}"
            f" FROM generate_series(1, {RECORDS})"
        )
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({columns}) SELECT 'c', s, {values}"
            f" FROM unnest({_literal(STREAMS)}) AS s ON CONFLICT DO NOTHING"
        )


def _kept_plan(conn: sa.Connection, statement: DriverStatement, params: dict[str, Any]) -> str:
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE batch AS {statement.sql}")
    arguments = ", ".join(_literal(a) for a in statement.arguments({"consumer": "c", **params}))
    conn.exec_driver_sql(f"EXECUTE batch({arguments})")  # planned on empty tables, kept
    _fill(conn)
    rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE batch({arguments})")
    plan = "\n".join(row[0] for row in rows)
    conn.exec_driver_sql("DEALLOCATE batch")
    return plan


@pytest.mark.parametrize(("statement", "params", "by_key"), STATEMENTS)
async def test_a_batchs_statement_planned_on_empty_tables_finds_records_by_key(
    postgres_url: str, statement: DriverStatement, params: dict[str, Any], by_key: str
) -> None:
    database = open_database(postgres_url)
    try:
        await upgrade(database)

        def planned(conn: sa.Connection) -> str:
            try:
                return _kept_plan(conn, statement, params)
            finally:
                conn.rollback()

        plan = await database.write(planned)
    finally:
        await database.close()

    assert by_key in plan, plan
    for scanned in ("Seq Scan on consumer", "Seq Scan on event", "Hash", "Merge", "Bitmap"):
        assert scanned not in plan, plan
