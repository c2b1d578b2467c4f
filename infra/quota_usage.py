"""`catalog.ports.QuotaUsage` over the database: usage is read from the image view."""

from __future__ import annotations

from catalog.queries.quotas import project_usage
from catalog.quotas import QuotaLimits, Usage
from infra.db.database import Database


class DatabaseQuotaUsage:
    def __init__(self, database: Database, limits: QuotaLimits) -> None:
        self.database = database
        self.limits = limits

    async def usage(self, project: str) -> Usage:
        return await self.database.read(project_usage, project)
