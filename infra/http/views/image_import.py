"""/v2/images/{image_id}/import: interoperable image import (glance-direct)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from catalog.commands.import_image import IMPORT_METHODS, ImportImage
from catalog.errors import BadRequest
from infra.http.identity import metadata_of
from infra.http.keys import BUS
from infra.http.requests import image_id_from, json_object

MISSING = "No image found with ID {id}"


def method_from(body: dict[str, Any]) -> str:
    """The import method named by the body, checked as Glance checks it (400s)."""
    method = body.get("method")
    if method is None:
        raise BadRequest("Import request requires a 'method' field.")
    if not isinstance(method, dict) or "name" not in method:
        raise BadRequest("Import request requires a 'name' field.")
    name = method["name"]
    if name not in IMPORT_METHODS:
        raise BadRequest(f"Unknown import method name '{name}'.")
    for flag in ("all_stores_must_succeed", "all_stores"):
        if flag in body and not isinstance(body[flag], bool):
            raise BadRequest(f"'{flag}' must be boolean value only")
    return str(name)


async def import_image(request: web.Request) -> web.Response:
    image_id = image_id_from(request, MISSING)
    method = method_from(await json_object(request))
    await request.app[BUS].dispatch(
        ImportImage(image_id=image_id, method=method), metadata_of(request)
    )
    return web.Response(status=202)
