"""`catalog.ports.LocationHolders` over the database: read from the location holders view."""

from __future__ import annotations

import uuid

from catalog.queries.location_holders import holders_of
from infra.db.database import Database


class DatabaseLocationHolders:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def of(self, location: str) -> frozenset[uuid.UUID]:
        return await self.database.read(holders_of, location)
