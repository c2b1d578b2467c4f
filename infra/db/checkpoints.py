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


def save_checkpoint(conn: sa.Connection, name: str, cursor: LogCursor) -> None:
    """Move the checkpoint forward to `cursor`; never backwards (a stale writer changes nothing)."""
    values = {
        "commit_order": cursor.commit_order,
        "position": cursor.position,
        "updated_at": datetime.now(UTC),
    }
    ahead = sa.or_(
        checkpoint.c.commit_order < cursor.commit_order,
        sa.and_(
            checkpoint.c.commit_order == cursor.commit_order,
            checkpoint.c.position < cursor.position,
        ),
    )
    updated = conn.execute(
        sa.update(checkpoint).where(checkpoint.c.name == name, ahead).values(**values)
    )
    if updated.rowcount == 0:
        exists = conn.execute(sa.select(checkpoint.c.name).where(checkpoint.c.name == name))
        if exists.first() is None:
            conn.execute(sa.insert(checkpoint).values(name=name, **values))
