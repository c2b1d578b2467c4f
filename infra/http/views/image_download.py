"""GET /v2/images/{image_id}/file: the image's bytes, whole or one range.

From the filesystem store the kernel copies the file to the socket (sendfile); other stores
stream through in chunks. Every transfer that started is recorded (`image.data_sent`) with the
bytes that actually went out, also when the client went away early.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, BinaryIO

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
from infra.http.keys import BUS, STORES
from infra.http.requests import image_id_from, reject_body
from infra.http.views.images import image_access

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
    if not view.locations or view.size is None:
        return web.Response(status=204)
    store_name, url = _location_to_read(view, stores, preferred)
    store = stores.named(store_name)
    wanted = requested_range(request.headers, view.size)
    offset, length = (wanted.offset, wanted.length) if wanted else (0, view.size)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range
    if view.checksum:
        headers["Content-MD5"] = view.checksum
    response = web.StreamResponse(status=206 if wanted else 200, headers=headers)
    transfer = _Transfer(request, view, store_name, offset, length)
    local = store.local_file(url)
    if local is not None:
        await transfer.send_file(response, local)
    else:
        await transfer.stream(response, store, url)
    return response


def _preferred_stores(request: web.Request, stores: ConfiguredStores) -> list[str]:
    """`?prefer=a,b`: stores to read from first, if the image has data there."""
    names = [name.strip() for name in request.query.get("prefer", "").split(",") if name.strip()]
    for name in names:
        if name not in stores.names:
            raise BadRequest(f"Store '{name}' is not configured.")
    return names


def _location_to_read(
    view: ImageView, stores: ConfiguredStores, preferred: list[str]
) -> tuple[str, str]:
    """The copy to read: a preferred store's, else the highest weight's, else the first."""

    def rank(location: dict[str, Any]) -> tuple[int, int]:
        name = location["store"]
        configured = stores.configured(name)
        weight = configured.weight if configured is not None else 0
        first = preferred.index(name) if name in preferred else len(preferred)
        return first, -weight

    readable = [loc for loc in view.locations if loc["store"] in stores.names]
    if not readable:
        raise NotFound("Image data not found in its store.")
    chosen = min(readable, key=rank)
    return chosen["store"], chosen["url"]


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

    async def send_file(self, response: web.StreamResponse, path: Path) -> None:
        try:
            file: BinaryIO = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as e:
            raise NotFound("Image data not found in its store.") from e
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

    async def stream(self, response: web.StreamResponse, store: TranslatingStore, url: str) -> None:
        chunks = store.get(url, offset=self.offset, length=self.length)
        async with contextlib.aclosing(chunks):
            # The first chunk before answering: missing data is still a clean error status.
            first = await anext(chunks, b"")
            await response.prepare(self.request)
            try:
                await response.write(first)
                self.sent += len(first)
                async for chunk in chunks:
                    await response.write(chunk)
                    self.sent += len(chunk)
                await response.write_eof()
            finally:
                await asyncio.shield(self._record())

    async def _record(self) -> None:
        self.request[BODY_BYTES_SENT] = self.sent
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
