"""The batch path of a view kept per stream (images, their location holders, tasks): a batch's
changes folded per stream, then written once per row.

Streams new to the tables (`new_streams`) have no rows there: their changes are folded when the
batch is prepared, without the database. The other streams' rows are read back by the write,
which folds their changes over them then: a batch before may have just written them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from catalog.projections.base import BatchWrite, RowInserter, insert_rows

Rows = TypeVar("Rows")
"""A stream's rows in the view, as the fold keeps them."""
Change = TypeVar("Change")
"""What one event changes in a stream's rows."""
Writes = TypeVar("Writes")
"""What a batch writes: the rows that come, change and go."""


@dataclass(frozen=True)
class PerStream(Generic[Rows, Change, Writes]):
    """A view's batch path, from its three parts."""

    load: Callable[[sa.Connection, Sequence[uuid.UUID]], Mapping[uuid.UUID, Rows]]
    """The rows the tables hold for these streams (none for a stream they have no rows of)."""
    fold: Callable[[Mapping[uuid.UUID, Rows], Sequence[tuple[uuid.UUID, Change]]], Writes]
    """What to write for the changes (stream and change, in log order) over the rows held."""
    write: Callable[[sa.Connection, Writes, RowInserter], None]

    def prepare(
        self, changes: Sequence[tuple[uuid.UUID, Change]], new_streams: Set[uuid.UUID]
    ) -> BatchWrite:
        fresh = [c for c in changes if c[0] in new_streams]
        seen = [c for c in changes if c[0] not in new_streams] if new_streams else changes
        folded = self.fold({}, fresh) if fresh else None

        def write(conn: sa.Connection, insert: RowInserter) -> None:
            if folded is not None:
                self.write(conn, folded, insert)
            if seen:
                held = self.load(conn, list(dict.fromkeys(stream for stream, _ in seen)))
                self.write(conn, self.fold(held, seen), insert)

        return write

    def apply(self, conn: sa.Connection, changes: Sequence[tuple[uuid.UUID, Change]]) -> None:
        """Write `changes` at once, over the rows the tables hold (the inline path)."""
        self.prepare(changes, frozenset())(conn, insert_rows)
