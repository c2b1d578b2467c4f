"""Named checkpoints: how far a reader of the log (a projection, the relay, a consumer) has got.

A checkpoint is written in the same transaction as the effect it accounts for, so the effect and
the reader's place can never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from catalog.ports import LOG_START, LogCursor
from infra.db.tables import checkpoint


def load_checkpoint(conn: sa.Connection, name: str) -> LogCursor:
    row = (
        conn.execute(
            sa.select(checkpoint.c.commit_order, checkpoint.c.position).where(
                checkpoint.c.name == name
            )
        )
    ).first()
    return LOG_START if row is None else LogCursor(row.commit_order, row.position)


_MOVE_FORWARD = sa.text(
    "INSERT INTO checkpoint (name, commit_order, position, updated_at)"
    " VALUES (:name, :commit_order, :position, :updated_at)"
    " ON CONFLICT (name) DO UPDATE SET commit_order = excluded.commit_order,"
    " position = excluded.position, updated_at = excluded.updated_at"
    " WHERE checkpoint.commit_order < excluded.commit_order"
    " OR (checkpoint.commit_order = excluded.commit_order"
    " AND checkpoint.position < excluded.position)"
).bindparams(sa.bindparam("updated_at", type_=checkpoint.c.updated_at.type))
"""One statement, compiled once: readers save their place after every batch, and building the
query each time cost more than running it."""


def save_checkpoint(conn: sa.Connection, name: str, cursor: LogCursor) -> None:
    """Move the checkpoint forward to `cursor`; never backwards (a stale writer changes nothing)."""
    conn.execute(
        _MOVE_FORWARD,
        {
            "name": name,
            "commit_order": cursor.commit_order,
            "position": cursor.position,
            "updated_at": datetime.now(UTC),
        },
    )
