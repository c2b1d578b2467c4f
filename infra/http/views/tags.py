"""/v2/images/{image_id}/tags/{tag_value}: put a tag on an image (PUT) or take it off (DELETE)."""

from __future__ import annotations

from aiohttp import web

from catalog.commands.tag_image import AddImageTag, RemoveImageTag
from infra.http.identity import metadata_of
from infra.http.keys import BUS
from infra.http.requests import image_id_from, validate_image

MISSING = "No image found with ID {id}"


async def add_tag(request: web.Request) -> web.Response:
    image_id = image_id_from(request, MISSING)
    tag = request.match_info["tag_value"]
    # Glance checks a tag as part of the image document: same rules, same message.
    validate_image({"tags": [tag]})
    await request.app[BUS].dispatch(AddImageTag(image_id=image_id, tag=tag), metadata_of(request))
    return web.Response(status=204)


async def remove_tag(request: web.Request) -> web.Response:
    image_id = image_id_from(request, MISSING)
    command = RemoveImageTag(image_id=image_id, tag=request.match_info["tag_value"])
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)
