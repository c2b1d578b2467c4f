"""`catalog.snapshots.Snapshots` on the SQL database: the `snapshot` table."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from catalog.snapshots import Snapshot
from infra.db.database import Database
from infra.db.driver import DriverStatement
from infra.db.tables import snapshot

_LATEST_OF = (
    sa.select(snapshot.c.stream_id, snapshot.c.version, snapshot.c.occurred_at, snapshot.c.state)
    .where(
        snapshot.c.stream_id == sa.bindparam("s"),
        snapshot.c.kind == sa.bindparam("k"),
        snapshot.c.fingerprint == sa.bindparam("f"),
    )
    .order_by(snapshot.c.version.desc())
    .limit(1)
)
_LATEST = DriverStatement(_LATEST_OF)
_LATEST_BY = DriverStatement(_LATEST_OF.where(snapshot.c.occurred_at <= sa.bindparam("t")))


class SqlSnapshots:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def latest(
        self,
        stream_id: uuid.UUID,
        kind: str,
        fingerprint: str,
        *,
        at_or_before: datetime | None = None,
    ) -> Snapshot | None:
        params: dict[str, Any] = {"s": stream_id, "k": kind, "f": fingerprint}
        if at_or_before is None:
            rows = await self.database.fetch(_LATEST, params)
        else:
            rows = await self.database.fetch(_LATEST_BY, {**params, "t": at_or_before})
        if not rows:
            return None
        ((found, version, occurred_at, state),) = rows
        return Snapshot(found, version, occurred_at, kind, fingerprint, json.loads(state))

    async def save(self, taken: Snapshot) -> None:
        await self.database.write(_save, taken)


def _save(conn: sa.Connection, taken: Snapshot) -> None:
    # Snapshots made by other code are of no more use: they go, as would one at this version.
    conn.execute(
        sa.delete(snapshot).where(
            snapshot.c.stream_id == taken.stream_id,
            sa.or_(
                snapshot.c.fingerprint != taken.fingerprint,
                snapshot.c.version == taken.version,
            ),
        )
    )
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    row = insert(snapshot).values(
        stream_id=taken.stream_id,
        version=taken.version,
        occurred_at=taken.occurred_at,
        kind=taken.kind,
        fingerprint=taken.fingerprint,
        state=json.dumps(taken.state, separators=(",", ":")),
    )
    conn.execute(row.on_conflict_do_nothing())  # another process took the same one
