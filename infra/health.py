"""Whether this process can serve, as `/healthcheck` reports it to load balancers.

As oslo.middleware's healthcheck in front of Glance, with two checks, cheap enough for load
balancers that ask every second or two:

- the disable file (`CATALOG_HEALTHCHECK_DISABLE_FILE`, Glance's `disable_by_file_path`):
  while it exists the node says it is unavailable, so balancers drain it while it goes on
  serving the requests that still come (one `stat`);
- the database: one tiny read (the schema's revision row), shared by the checks that arrive
  while it runs and bounded in time, so a database that hangs holds one connection at most
  and the answer comes within `PROBE_SECONDS`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from infra.db.database import Database
from infra.db.migrate import VERSION_TABLE

PROBE_SECONDS = 5.0
OK = "OK"
DISABLED_BY_FILE = "DISABLED BY FILE"
DATABASE_UNAVAILABLE = "DATABASE UNAVAILABLE"


@dataclass(frozen=True)
class Health:
    reasons: list[str]
    """What each failed check found; `["OK"]` when all passed (oslo.middleware's words)."""

    @property
    def available(self) -> bool:
        return self.reasons == [OK]


def _schema_row(conn: sa.Connection) -> None:
    # A read of the catalog's own schema, not only a connection.
    conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()


class HealthCheck:
    def __init__(self, database: Database, disable_file: Path | None) -> None:
        self._database = database
        self._disable_file = disable_file
        self._probe: asyncio.Task[bool] | None = None

    async def health(self) -> Health:
        reasons = []
        if self._disable_file is not None and self._disable_file.exists():
            reasons.append(DISABLED_BY_FILE)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._database_answers())
        if not await asyncio.shield(self._probe):
            reasons.append(DATABASE_UNAVAILABLE)
        return Health(reasons or [OK])

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_SECONDS):
                await self._database.read(_schema_row)
        except Exception:  # whatever keeps it from answering (why is the database's to log)
            return False
        return True
