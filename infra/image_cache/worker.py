"""The cache's background work in each server process: prefetching queued images, and the
periodic upkeep (cleaning, checking entries against the images, pruning)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

from catalog.errors import CatalogError, DatabaseUnavailable
from catalog.queries.images import get_image
from infra.data_stores import ConfiguredStores
from infra.db.database import Database
from infra.image_cache.disk import ImageCache
from infra.image_cache.entries import ExpectedData

log = structlog.get_logger(__name__)

QUEUE_POLL_SECONDS = 5.0
"""How often the queue folder is looked at without a nudge: images queued through another
server process of this node."""
SERVED_STATUSES = ("active", "deactivated")
"""An image in any other status (deleted, or being deleted) has no bytes to keep."""


class CacheWorker:
    def __init__(
        self,
        cache: ImageCache,
        database: Database,
        stores: ConfiguredStores,
        maintenance_seconds: float,
    ) -> None:
        self.cache = cache
        self.database = database
        self.stores = stores
        self.maintenance_seconds = maintenance_seconds
        self._nudged = asyncio.Event()

    def nudge(self) -> None:
        """Look at the queue now."""
        self._nudged.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # Not at start: what a dead process left is stalled only after the stall time anyway.
        maintenance_due = loop.time() + self.maintenance_seconds
        while True:
            self._nudged.clear()
            for image_id in await self.cache.queued():
                await self._prefetch_logged(image_id)
            if loop.time() >= maintenance_due:
                await self._maintain_logged()
                maintenance_due = loop.time() + self.maintenance_seconds
            wait = min(QUEUE_POLL_SECONDS, max(0.0, maintenance_due - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), wait)

    async def prefetch(self, image_id: str) -> bool:
        """Fill the cache with one queued image's bytes from its store, whichever it is;
        whether it is done with (False: another process of this node is filling it, and
        unqueues it then)."""
        if self.cache.is_filling(image_id):
            return False
        view = await self.database.read(get_image, uuid.UUID(image_id))
        expected = ExpectedData.of(view) if view and view.status == "active" else None
        if view is None or expected is None or not view.locations:
            return True
        store_name, url = self.stores.location_to_read(view.locations)
        store = self.stores.named(store_name)
        fill = await self.cache.start_fill(expected)
        if fill is None:
            return True
        try:
            chunks = store.get(url, offset=0, length=expected.size)
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    await fill.write(chunk)
        except BaseException:
            await asyncio.shield(fill.abandon())
            raise
        await fill.finish()
        return True

    async def maintain(self) -> None:
        await self.cache.clean()
        await self.evict_gone()
        await self.cache.prune()

    async def evict_gone(self) -> None:
        """Evict the entries whose image was deleted, lost its data, or whose data is no
        longer what was cached: deletes made through any node end up evicted on every one."""
        for entry in await self.cache.entries():
            image_id = entry.data.image_id
            view = await self.database.read(get_image, uuid.UUID(image_id))
            still = (
                ExpectedData.of(view)
                if view is not None and view.status in SERVED_STATUSES and view.locations
                else None
            )
            if still != entry.data and await self.cache.evict(image_id):
                log.info("image_cache_evicted", image_id=image_id)

    async def _prefetch_logged(self, image_id: str) -> None:
        try:
            if not await self.prefetch(image_id):
                return
        except DatabaseUnavailable:
            return  # logged once by the database; the image stays queued for the next round
        except (CatalogError, OSError) as e:
            log.warning("image_cache_prefetch_failed", image_id=image_id, error=str(e))
        await self.cache.dequeue(image_id)

    async def _maintain_logged(self) -> None:
        try:
            await self.maintain()
        except DatabaseUnavailable:
            pass  # logged once by the database; the next round tries again
        except (CatalogError, OSError) as e:
            log.warning("image_cache_maintenance_failed", error=str(e))


def running(worker: CacheWorker) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs `worker` for the application's life."""

    async def run_worker(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(worker.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run_worker
