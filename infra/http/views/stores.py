"""/v2/stores/{store_id}/{image_id}: remove one store's copy of an image's data."""

from __future__ import annotations

from aiohttp import web

from catalog.commands.delete_from_store import DeleteFromStore
from infra.http.identity import metadata_of
from infra.http.keys import BUS
from infra.http.requests import image_id_from, reject_body


async def delete_from_store(request: web.Request) -> web.Response:
    reject_body(request)
    image_id = image_id_from(request, "Failed to find image {id}")
    command = DeleteFromStore(image_id=image_id, store=request.match_info["store_id"])
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)
