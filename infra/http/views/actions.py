"""/v2/images/{image_id}/actions/deactivate, /reactivate, and /restore (not in Glance's API:
an admin's undo of a delayed delete, which Glance offers only as `glance-scrubber --restore`)."""

from __future__ import annotations

from aiohttp import web

from catalog.commands.change_activation import DeactivateImage, ReactivateImage
from catalog.commands.restore_image import RestoreImage
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


async def restore(request: web.Request) -> web.Response:
    reject_body(request)
    command = RestoreImage(image_id=image_id_from(request, MISSING))
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)
