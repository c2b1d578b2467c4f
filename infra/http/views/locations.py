"""/v2/images/{image_id}/locations: attach data already in a store, and list where the data is
(v2.17; the list is for admins and other cloud services only)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from catalog.commands.set_image_location import SetImageLocation, ValidationData
from catalog.errors import BadRequest
from infra.http.identity import metadata_of
from infra.http.keys import BUS
from infra.http.requests import image_id_from, json_object, reject_body
from infra.http.views.images import image_access


def _validation_data(raw: Any) -> ValidationData | None:
    # Both hash fields or neither, as Glance's schema says: an empty object asks for no check.
    if raw is None or raw == {}:
        return None
    try:
        return ValidationData.model_validate(raw)
    except ValidationError as e:
        raise BadRequest("validation_data must hold exactly os_hash_algo and os_hash_value.") from e


async def add_location(request: web.Request) -> web.Response:
    missing = "No image found with ID {id}"
    image_id = image_id_from(request, missing)
    body = await json_object(request)
    url = body.get("url")
    if not isinstance(url, str) or not url or len(url) > 255:
        raise BadRequest("url is required: a string of at most 255 characters.")
    unknown = set(body) - {"url", "validation_data"}
    if unknown:
        raise BadRequest(f"Unexpected attributes: {', '.join(sorted(unknown))}.")
    command = SetImageLocation(
        image_id=image_id, url=url, validation_data=_validation_data(body.get("validation_data"))
    )
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=202)


async def get_locations(request: web.Request) -> web.Response:
    reject_body(request)
    missing = "No image found with ID {id}"
    image_id = image_id_from(request, missing)
    view, access = await image_access(request, image_id, missing.format(id=image_id))
    access.enforce("fetch_image_location")
    return web.json_response(
        [{"url": loc["url"], "metadata": {"store": loc["store"]}} for loc in view.locations]
    )
