"""The notifications outbox: rows written by the notifications consumer, read in commit order
by the publisher that sends them to Kafka (the same never-skip reading as the log's)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from catalog.ports import LogCursor
from catalog.projections.schema import UtcDateTime
from infra.db.driver import DriverStatement
from infra.db.event_log import PG_HORIZON, rows_after
from infra.db.tables import notification


@dataclass(frozen=True)
class OutboxNotification:
    position: int
    commit_order: int
    message_id: uuid.UUID
    subject_id: str
    event_type: str
    priority: str
    message: str
    """The oslo message as JSON text (infra/notifications/oslo_messages.py)."""
    created_at: datetime


_COLUMNS = (
    notification.c.position,
    notification.c.message_id,
    notification.c.subject_id,
    notification.c.event_type,
    notification.c.priority,
    notification.c.message,
    notification.c.created_at,
)

# See infra/db/event_log.py: only rows of transactions older than every one still running here.
_PG_READ = sa.text(
    "SELECT position, message_id, subject_id, event_type, priority, message, created_at,"
    " commit_order::text::bigint AS commit_order FROM notification"
    " WHERE (commit_order, position) > (CAST(:commit_order AS text)::xid8, :position)"
    f" AND commit_order < {PG_HORIZON}"
    # The table's columns, not the output's `commit_order` (a cast): only those follow the
    # index, so a read costs its batch and not a sort of everything after the cursor.
    " ORDER BY notification.commit_order, notification.position LIMIT :limit"
).columns(*_COLUMNS, sa.column("commit_order", sa.BigInteger))

_SQLITE_READ = (
    sa.select(*_COLUMNS, notification.c.commit_order)
    .where(notification.c.position > sa.bindparam("position"))
    .order_by(notification.c.position)
    .limit(sa.bindparam("limit"))
)


class NewNotification(NamedTuple):
    """A row to add to the outbox (a tuple: a catch-up makes one per notification)."""

    message_id: str
    """The message's id as text (as the message has it: no `UUID` made for each row)."""
    subject_id: str
    event_type: str
    priority: str
    message: str
    """The message as JSON text, stored as it is."""
    created_at: datetime


_ADDED = NewNotification._fields
_ID_TEXT = sa.Uuid(as_uuid=False)
"""The column's type, given its values as text."""

# One statement for a whole batch of rows, each column an array, the rows numbered by the
# order they come in (the positions follow it).
_PG_ADD = DriverStatement(
    sa.text(
        f"INSERT INTO notification ({', '.join(_ADDED)})"
        f" SELECT {', '.join(_ADDED)} FROM unnest(:message_id, :subject_id, :event_type, :priority,"
        " :message, :created_at)"
        f" WITH ORDINALITY AS added({', '.join(_ADDED)}, n) ORDER BY n"
    ).bindparams(
        sa.bindparam("message_id", type_=sa.ARRAY(_ID_TEXT)),
        sa.bindparam("subject_id", type_=sa.ARRAY(sa.String)),
        sa.bindparam("event_type", type_=sa.ARRAY(sa.String)),
        sa.bindparam("priority", type_=sa.ARRAY(sa.String)),
        sa.bindparam("message", type_=sa.ARRAY(sa.Text)),
        sa.bindparam("created_at", type_=sa.ARRAY(UtcDateTime())),
    )
)

_SQLITE_ADD = sa.text(
    f"INSERT INTO notification ({', '.join(_ADDED)})"
    f" VALUES ({', '.join(':' + name for name in _ADDED)})"
).bindparams(
    sa.bindparam("message_id", type_=_ID_TEXT),
    sa.bindparam("message", type_=sa.Text),
    sa.bindparam("created_at", type_=UtcDateTime()),
)


def add_notifications(conn: sa.Connection, rows: Sequence[NewNotification]) -> None:
    """Add `rows` to the outbox, in their order: on PostgreSQL in one statement."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _PG_ADD.execute_in(conn, dict(zip(_ADDED, map(list, zip(*rows, strict=True)), strict=True)))
    else:  # in-process: a row costs next to nothing
        conn.execute(_SQLITE_ADD, [row._asdict() for row in rows])


def read_notifications(
    conn: sa.Connection, after: LogCursor, limit: int
) -> list[OutboxNotification]:
    rows = rows_after(conn, (_PG_READ, _SQLITE_READ), after, limit)
    return [OutboxNotification(**row._mapping) for row in rows]


def prune_notifications(conn: sa.Connection, older_than: datetime, sent: LogCursor | None) -> int:
    """Forget notifications created before `older_than` and, if `sent` is given, published."""
    condition = notification.c.created_at < older_than
    if sent is not None and conn.dialect.name == "postgresql":
        condition &= sa.text(
            "(commit_order, position) <= (CAST(:commit_order AS text)::xid8, :position)"
        ).bindparams(commit_order=str(sent.commit_order), position=sent.position)
    elif sent is not None:
        condition &= notification.c.position <= sent.position
    return conn.execute(sa.delete(notification).where(condition)).rowcount
