"""The composition root: the one place that builds concrete objects from settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from catalog.commands.context import CommandContext, Limits
from catalog.commands.registry import CommandBus
from catalog.commands.repository import ImageRepository
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.clock import SystemClock
from infra.data_stores import ConfiguredStores
from infra.db.database import Database, open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.settings import Settings
from stores.base import ImageStore
from stores.filesystem import FilesystemStore
from stores.s3 import S3Store


@dataclass
class Container:
    settings: Settings
    node_id: str
    database: Database
    log: SqlEventLog
    stores: ConfiguredStores
    bus: CommandBus

    async def close(self) -> None:
        await self.stores.close()
        await self.database.close()


def build_stores(settings: Settings) -> ConfiguredStores:
    drivers: dict[str, ImageStore] = {"file": FilesystemStore(settings.filesystem_dir)}
    s3 = settings.store
    if s3.s3_endpoint is not None or s3.default == "s3":
        drivers["s3"] = S3Store(
            endpoint_url=s3.s3_endpoint,
            access_key=s3.s3_access_key,
            secret_key=s3.s3_secret_key,
            bucket=s3.s3_bucket,
            region=s3.s3_region,
        )
    return ConfiguredStores(drivers, settings.store.default)


async def build(settings: Settings, *, migrate: bool = True) -> Container:
    """Build everything the API needs; bring the schema up to date first if asked."""
    if settings.database.url is None:
        settings.core.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings.database_url, pool_size=settings.database.pool_size)
    if migrate:
        await upgrade(database)
    log = SqlEventLog(database, INLINE_PROJECTIONS)
    stores = build_stores(settings)
    node_id = f"node-{uuid.uuid4()}"
    context = CommandContext(
        images=ImageRepository(log),
        stores=stores,
        clock=SystemClock(),
        limits=Limits(
            image_size_cap=settings.core.image_size_cap,
            image_tag_quota=settings.core.image_tag_quota,
            image_property_quota=settings.core.image_property_quota,
            image_member_quota=settings.core.image_member_quota,
        ),
        node_id=node_id,
    )
    return Container(
        settings=settings,
        node_id=node_id,
        database=database,
        log=log,
        stores=stores,
        bus=CommandBus(context),
    )
