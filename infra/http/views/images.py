"""/v2/images and /v2/images/{image_id}: create, list, show, delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from catalog.commands.create_image import CreatedImage
from catalog.commands.delete_image import DeleteImage
from catalog.commands.import_image import import_methods
from catalog.commands.update_image import UpdateImage
from catalog.errors import BadRequest, NotFound, UnsupportedMediaType
from catalog.policy import ImageAccess
from catalog.queries import image_list
from catalog.queries import images as image_queries
from catalog.queries.image_as_of import image_as_of
from catalog.queries.images import ImageView
from catalog.queries.keyset import MarkerNotFound
from infra.http import patch
from infra.http.errors import error_response
from infra.http.history_params import as_of_from
from infra.http.identity import metadata_of
from infra.http.image_json import image_json
from infra.http.keys import API_SETTINGS, BUS, DATABASE, IMAGE_CACHE, POLICY, STORES
from infra.http.list_params import list_query, page_links
from infra.http.origin import public_url
from infra.http.requests import create_command, image_id_from, json_body, json_object, reject_body


async def image_access(
    request: web.Request, image_id: uuid.UUID, missing: str
) -> tuple[ImageView, ImageAccess]:
    """The image, and what the caller may do with it; 404 if it does not exist for them."""
    actor = metadata_of(request).actor
    found = await request.app[DATABASE].read(image_queries.find_image, image_id, actor.project_id)
    if found is None:
        raise NotFound(missing)
    access = request.app[POLICY].image(
        actor, found.view, is_member=found.is_member, missing=missing
    )
    return found.view, access


async def visible_image(request: web.Request, image_id: uuid.UUID, missing: str) -> ImageView:
    """The image if the caller may get it (`get_image`); otherwise it does not exist for them
    (404)."""
    view, access = await image_access(request, image_id, missing)
    access.enforce("get_image")
    return view


def shown_to(request: web.Request) -> Callable[[ImageView], dict[str, Any]]:
    """How images are shown to the caller: with the custom properties they may read."""
    readable = request.app[POLICY].property_access(metadata_of(request).actor).readable
    show_locations = request.app[API_SETTINGS].show_locations

    def shown(view: ImageView) -> dict[str, Any]:
        return image_json(view, show_locations=show_locations, properties=readable(view.properties))

    return shown


def shown(request: web.Request, view: ImageView) -> dict[str, Any]:
    return shown_to(request)(view)


async def create(request: web.Request) -> web.Response:
    command = create_command(await json_object(request))
    created: CreatedImage = await request.app[BUS].dispatch(command, metadata_of(request))
    view = image_queries.view_of_created(created.recorded, created.event)
    headers = {
        "Location": public_url(request, f"/v2/images/{view.id}"),
        # Tells clients (openstacksdk, `openstack image create --import`) they may import.
        "OpenStack-image-import-methods": ",".join(import_methods(request.app[BUS].context)),
        "OpenStack-image-store-ids": ",".join(s.name for s in request.app[STORES].all),
    }
    return web.json_response(shown(request, view), status=201, headers=headers)


async def show(request: web.Request) -> web.Response:
    reject_body(request)
    actor = metadata_of(request).actor
    missing = "No image found with ID {id}"
    image_id = image_id_from(request, missing)
    as_of = as_of_from(request.query)
    if as_of is None:
        view = await visible_image(request, image_id, missing.format(id=image_id))
    else:  # the past is in the log only (not a Glance parameter)
        images, policy = request.app[BUS].context.images, request.app[POLICY]
        view = await image_as_of(images, image_id, actor, as_of, policy)
    return web.json_response(shown(request, view))


async def index(request: web.Request) -> web.Response:
    reject_body(request)
    actor = metadata_of(request).actor
    policy = request.app[POLICY]
    policy.enforce(actor, "get_images")
    query = list_query(request.query)
    try:
        page = await request.app[DATABASE].read(image_list.list_images, policy.viewer(actor), query)
    except MarkerNotFound as e:
        raise BadRequest(f"No image found with ID {e}") from e
    # The database's page decides whether there is more (`get_image` may have kept fewer).
    more = str(page[-1].id) if page and len(page) == query.limit else None
    body: dict[str, object] = {
        "images": [shown_to(request)(view) for view in policy.shown_images(actor, page)],
        **page_links("/v2/images", request.query, more),
        "schema": "/v2/schemas/images",
    }
    return web.json_response(body)


async def update(request: web.Request) -> web.Response:
    missing = "No image found with ID {id}"
    image_id = image_id_from(request, missing)
    try:
        older = patch.media_type_check(request.headers.get("Content-Type", ""))
    except UnsupportedMediaType as e:
        return error_response(
            request,
            e.status,
            e.message,
            detail=e.detail,
            headers={"Accept-Patch": patch.ACCEPT_PATCH},
        )
    operations = patch.operations_from(await json_body(request), older_media_type=older)
    command = UpdateImage(image_id=image_id, operations=operations)
    await request.app[BUS].dispatch(command, metadata_of(request))
    view = await visible_image(request, image_id, missing.format(id=image_id))
    return web.json_response(shown(request, view))


async def delete(request: web.Request) -> web.Response:
    reject_body(request)
    missing = "Failed to find image {id} to delete"
    image_id = image_id_from(request, missing)
    await request.app[BUS].dispatch(DeleteImage(image_id=image_id), metadata_of(request))
    cache = request.app.get(IMAGE_CACHE)
    if cache is not None:
        # This node's copy goes at once; other nodes' go at their next upkeep (or next hit).
        await cache.evict(str(image_id))
    return web.Response(status=204)
