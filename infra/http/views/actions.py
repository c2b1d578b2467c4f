"""/v2/images/{image_id}/actions/deactivate and /reactivate."""

from __future__ import annotations

from aiohttp import web

from catalog.commands.change_activation import DeactivateImage, ReactivateImage
from infra.http.identity import metadata_of
from infra.http.keys import BUS
from infra.http.requests import image_id_from, reject_body

MISSING = "No image found with ID {id}"


async def deactivate(request: web.Request) -> web.Response:
    reject_body(request)
    command = DeactivateImage(image_id=image_id_from(request, MISSING))
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)


async def reactivate(request: web.Request) -> web.Response:
    reject_body(request)
    command = ReactivateImage(image_id=image_id_from(request, MISSING))
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)
