"""Reading the rows of many images at once, as the batch paths of the projections do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

# Ids per `IN (…)` on SQLite: far below its limit on bound parameters.
_IDS_PER_QUERY = 500


def one_of_ids(column: sa.ColumnElement[Any], postgres: bool) -> sa.ColumnElement[bool]:
    """`column` is one of the ids bound as `ids`: on PostgreSQL one array parameter (one
    statement, prepared once); on SQLite, which has no arrays, a list of bound parameters."""
    if postgres:
        return column == sa.any_(sa.bindparam("ids", type_=sa.ARRAY(sa.Uuid)))
    return column.in_(sa.bindparam("ids", expanding=True))


def id_batches(ids: Sequence[uuid.UUID], postgres: bool) -> Iterator[Sequence[uuid.UUID]]:
    """`ids` in as few batches as `one_of_ids` can bind: all at once on PostgreSQL; none
    when there are none."""
    if postgres:
        if ids:
            yield ids
        return
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start : start + _IDS_PER_QUERY]
