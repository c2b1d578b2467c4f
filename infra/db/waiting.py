"""What waits for a reader of a table read in position order (the log, the notifications
outbox): how many rows lie past its place, and since when the oldest of them waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from catalog.ports import LogCursor
from infra.db.tables import event, notification


@dataclass(frozen=True)
class Waiting:
    rows: int
    """About how many rows lie past the place (exact once every earlier append committed)."""
    oldest_at: datetime | None
    """When the first of them was written; None when nothing waits."""


def _waiting(conn: sa.Connection, table: sa.Table, written_at: str, cursor: LogCursor) -> Waiting:
    past = table.c.position > cursor.position
    rows = conn.execute(sa.select(sa.func.count()).select_from(table).where(past)).scalar_one()
    # The first row past the place on the primary key, rather than min() over all of them.
    first = sa.select(table.c[written_at]).where(past).order_by(table.c.position).limit(1)
    return Waiting(int(rows), conn.execute(first).scalar_one_or_none())


def events_waiting(conn: sa.Connection, cursor: LogCursor) -> Waiting:
    return _waiting(conn, event, "occurred_at", cursor)


def notifications_waiting(conn: sa.Connection, cursor: LogCursor) -> Waiting:
    return _waiting(conn, notification, "created_at", cursor)
