"""The record of the last rebuild of the views (table `rebuild_progress`): written by the
rebuilding process as it goes, read by any server's metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from infra.db.tables import rebuild_progress

VIEWS = "views"
"""The one rebuild there is: every view at once."""


@dataclass(frozen=True)
class RebuildRecord:
    phase: str
    replayed: int
    total: int
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None


def save_rebuild_record(conn: sa.Connection, record: RebuildRecord) -> None:
    """Replace the record (a new rebuild starts a new one)."""
    conn.execute(sa.delete(rebuild_progress).where(rebuild_progress.c.name == VIEWS))
    conn.execute(sa.insert(rebuild_progress).values(name=VIEWS, **record.__dict__))


def load_rebuild_record(conn: sa.Connection) -> RebuildRecord | None:
    """The last rebuild's record; None if no rebuild ever ran here."""
    columns = [rebuild_progress.c[name] for name in RebuildRecord.__dataclass_fields__]
    row = conn.execute(sa.select(*columns).where(rebuild_progress.c.name == VIEWS)).first()
    return None if row is None else RebuildRecord(**row._mapping)
