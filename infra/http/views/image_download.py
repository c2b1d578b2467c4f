"""GET /v2/images/{image_id}/file: the image's bytes, whole or one range.

From the filesystem store the kernel copies the file to the socket (sendfile); other stores
stream through in chunks. Every transfer that started is recorded (`image.data_sent`) with the
bytes that actually went out, also when the client went away early.

With a node cache (infra/image_cache/), a whole download of an active image is served from
the cache with sendfile when it holds the image's bytes; otherwise the bytes stream from the
store, whichever it is (a file store too, as on Glance), and fill the cache on the way. Range
requests and deactivated images bypass it, as on Glance; the rules are checked and the
transfer recorded the same way in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import BinaryIO

import structlog
from aiohttp import web

from catalog.commands.record_data_sent import RecordDataSent
from catalog.errors import BadRequest, DatabaseUnavailable, NotFound
from catalog.events import ImageDataSent
from catalog.queries.images import ImageView
from infra.data_stores import ConfiguredStores, TranslatingStore
from infra.http.access_log import BODY_BYTES_SENT
from infra.http.byte_range import requested_range
from infra.http.identity import metadata_of
from infra.http.keys import BUS, IMAGE_CACHE, STORES
from infra.http.requests import image_id_from, reject_body
from infra.http.views.images import image_access
from infra.image_cache.entries import ExpectedData
from infra.image_cache.fill import CacheFill
from infra.metrics.serving import SERVING_METRICS

log = structlog.get_logger(__name__)

MISSING = "No image found with ID {id}"


async def download(request: web.Request) -> web.StreamResponse:
    reject_body(request)
    image_id = image_id_from(request, MISSING)
    view, access = await image_access(request, image_id, MISSING.format(id=image_id))
    access.enforce_download(deactivated=view.status == "deactivated")
    stores = request.app[STORES]
    preferred = _preferred_stores(request, stores)
    if preferred:
        access.enforce("download_from_store")
    cache = request.app.get(IMAGE_CACHE)
    if not view.locations or view.size is None:
        if cache is not None:
            await cache.evict(str(image_id))  # its data went away
        return web.Response(status=204)
    store_name, url = stores.location_to_read(view.locations, preferred)
    store = stores.named(store_name)
    wanted = requested_range(request.headers, view.size)
    expected = ExpectedData.of(view)
    cached = cache if wanted is None and view.status == "active" and expected else None
    offset, length = (wanted.offset, wanted.length) if wanted else (0, view.size)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range
    if view.checksum:
        headers["Content-MD5"] = view.checksum
    response = web.StreamResponse(status=206 if wanted else 200, headers=headers)
    transfer = _Transfer(request, view, store_name, offset, length)
    hit = await cached.open_cached(expected) if cached and expected else None
    if hit is not None:
        await transfer.send_file(response, hit)
        return response
    fill = await cached.start_fill(expected) if cached and expected else None
    # A file the kernel can send, unless the bytes must also pass through a cache fill.
    local = store.local_file(url) if fill is None else None
    if local is not None:
        await transfer.send_file(response, await _opened(local))
    else:
        await transfer.stream(response, store, url, fill)
    return response


async def _opened(path: Path) -> BinaryIO:
    try:
        return await asyncio.to_thread(path.open, "rb")
    except FileNotFoundError as e:
        raise NotFound("Image data not found in its store.") from e


def _preferred_stores(request: web.Request, stores: ConfiguredStores) -> list[str]:
    """`?prefer=a,b`: stores to read from first, if the image has data there."""
    names = [name.strip() for name in request.query.get("prefer", "").split(",") if name.strip()]
    for name in names:
        if name not in stores.names:
            raise BadRequest(f"Store '{name}' is not configured.")
    return names


class _Transfer:
    """One response's bytes going out, and the record of how many did."""

    def __init__(
        self, request: web.Request, view: ImageView, store: str, offset: int, length: int
    ) -> None:
        self.request = request
        self.view = view
        self.store = store
        self.offset = offset
        self.length = length
        self.sent = 0

    async def send_file(self, response: web.StreamResponse, file: BinaryIO) -> None:
        """Send the opened `file` (closed once sent) with the kernel's sendfile."""
        try:
            await response.prepare(self.request)
            try:
                transport = self.request.transport
                if transport is None:
                    raise ConnectionResetError("the client went away")
                loop = asyncio.get_running_loop()
                # Falls back to reads and writes where the kernel cannot (e.g. over TLS).
                await loop.sendfile(transport, file, self.offset, self.length)
            finally:
                # asyncio leaves the file positioned after what it sent, also on errors.
                self.sent = file.tell() - self.offset
            await response.write_eof()
        finally:
            try:
                await asyncio.shield(self._record())
            finally:
                file.close()  # a read-only descriptor: closing it does not block

    async def stream(
        self,
        response: web.StreamResponse,
        store: TranslatingStore,
        url: str,
        fill: CacheFill | None = None,
    ) -> None:
        """Stream from the store; `fill`, if given, gets the same bytes (the whole image)."""
        try:
            chunks = store.get(url, offset=self.offset, length=self.length)
            async with contextlib.aclosing(chunks):
                # The first chunk before answering: missing data is still a clean error status.
                first = await anext(chunks, b"")
                await response.prepare(self.request)
                try:
                    await self._send(response, first, fill)
                    async for chunk in chunks:
                        await self._send(response, chunk, fill)
                    if fill is not None:
                        # Before the end goes out: a client that has the whole image can
                        # count on this node's cache having it too.
                        await asyncio.shield(fill.finish())
                    await response.write_eof()
                finally:
                    await asyncio.shield(self._record())
        finally:
            if fill is not None:
                await asyncio.shield(fill.abandon())  # unless finished: a cut transfer

    async def _send(
        self, response: web.StreamResponse, chunk: bytes, fill: CacheFill | None
    ) -> None:
        await response.write(chunk)
        self.sent += len(chunk)
        if fill is not None:
            await fill.write(chunk)

    async def _record(self) -> None:
        self.request[BODY_BYTES_SENT] = self.sent
        self.request.app[SERVING_METRICS].bytes_downloaded.inc(self.sent)
        sent = ImageDataSent(
            image_id=str(self.view.id),
            owner=self.view.owner,
            bytes_sent=self.sent,
            offset=self.offset,
            requested=self.length,
            store=self.store,
        )
        try:
            command = RecordDataSent(sent=sent)
            await self.request.app[BUS].dispatch(command, metadata_of(self.request))
        except DatabaseUnavailable:
            # The outage itself is logged once, by the database; what it cost is said here.
            log.warning("data_sent_not_recorded", image_id=str(self.view.id), bytes_sent=self.sent)
        except Exception:
            # The bytes went out; failing the response now would not take them back.
            log.exception("data_sent_not_recorded", image_id=str(self.view.id))
