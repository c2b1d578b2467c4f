"""Adding many new rows to a table by COPY: the rebuild's `RowInserter` on PostgreSQL.

A rebuild adds nearly every row of the views as new rows. COPY in binary format is the cheapest
way PostgreSQL takes rows in (measured on the image view: a third of the server's CPU of a
JSON recordset, `jsonb_populate_recordset`, and less of the client's than writing the JSON),
and asyncpg encodes the records in its compiled code. COPY only adds rows: rows that may
already be there go through SQL (see `catalog/projections/image_batch.py`).

COPY runs on the driver's connection under SQLAlchemy's, in the same transaction.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pydantic_core
import sqlalchemy as sa
from sqlalchemy.util import await_only

Record = tuple[Any, ...]


def copy_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add `rows` (a value for every column of `table`, none of their keys there yet) to
    `table` by COPY, in `conn`'s transaction."""
    if not rows:
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter begins its transaction with the first statement it runs
        # itself: one so that the COPY cannot commit on its own.
        conn.execute(_NOTHING)
    columns, record = _records(table)
    records = [record(row) for row in rows]
    await_only(driver.copy_records_to_table(table.name, records=records, columns=columns))


_NOTHING = sa.text("SELECT")


@functools.cache
def _records(table: sa.Table) -> tuple[list[str], Callable[[Mapping[str, Any]], Record]]:
    """The columns of `table` and how a row becomes a COPY record of them: JSON columns as
    their JSON text (the driver's codec takes text), every other value as it is."""
    columns = [c.name for c in table.columns]
    values = operator.itemgetter(*columns)
    documents = [i for i, c in enumerate(table.columns) if isinstance(c.type, sa.JSON)]
    if not documents:
        return columns, values

    def record(row: Mapping[str, Any]) -> Record:
        fields = list(values(row))
        for i in documents:
            fields[i] = pydantic_core.to_json(fields[i]).decode()
        return tuple(fields)

    return columns, record
