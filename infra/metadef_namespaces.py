"""`catalog.ports.NamespaceStreams` over the database: read from the namespaces view."""

from __future__ import annotations

import uuid

from catalog.queries.metadef_namespaces import stream_of
from infra.db.database import Database


class DatabaseNamespaceStreams:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def stream_of(self, name: str) -> uuid.UUID | None:
        return await self.database.read(stream_of, name)
