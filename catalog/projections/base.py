"""What a projection is: a named view fed with events."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any, Protocol

import sqlalchemy as sa

from catalog.events import DomainEvent, RecordedEvent, ReplayEvent


class RowInserter(Protocol):
    """Adds rows that `table` does not hold yet (its keys are free: the caller's transaction
    read them, or they belong to `new_streams`), in the caller's transaction. Each row has a
    value for every column. The database's cheapest way may be used (PostgreSQL: COPY)."""

    def __call__(
        self, conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
    ) -> None: ...


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """`RowInserter` for any database: one INSERT run for every row (executemany)."""
    if rows:
        conn.execute(sa.insert(table), list(rows))


BatchWrite = Callable[[sa.Connection, RowInserter], None]
"""A batch's changes to a projection's tables, made ready without the database: writes them on
the caller's transaction, adding new rows by the `RowInserter` given."""


class Projection(Protocol):
    """A view built only from events.

    `apply` must be idempotent per (stream, version): replaying an event already applied changes
    nothing. It runs inside the transaction that appends the event (inline), never on its own.
    `prepare_batch` (the rebuild's way) must leave exactly the rows `apply` would, event by event.
    """

    name: str
    tables: tuple[sa.Table, ...]

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None: ...

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        *,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> BatchWrite:
        """The write of `events`, in log order, as `apply` would do them one by one; into
        `tables` (a live table's name to the table standing in for it, e.g. a rebuild's new
        one) when given.

        As much as can be is done here, without the database: the rebuild prepares a batch
        while the server takes the writes of the one before (and may do so in another thread).
        What depends on rows already in the tables waits for the write.

        `new_streams`: streams of `events` none of whose events was ever applied to these
        tables (a rebuild's first pass, stream by stream). Rows kept per stream cannot be
        there yet, so they are not read back: their changes are folded here, and the write
        reads no row whose cost grows with the tables (which have no statistics and not all
        their indexes while a rebuild fills them).

        The write's `RowInserter` adds the rows the tables do not hold yet (the rebuild's: COPY
        on PostgreSQL, see `infra/db/copy_rows.py`); the caller's transaction must be the only
        one writing to the tables.
        """
        ...
