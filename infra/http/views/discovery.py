"""Version documents and schemas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from catalog.commands.import_image import import_methods
from catalog.quotas import mib
from infra.data_stores import ConfiguredStore
from infra.http.identity import metadata_of
from infra.http.keys import BUS, POLICY, STORES
from infra.http.origin import public_url
from infra.http.requests import reject_body
from infra.http.schemas import schema
from infra.http.versions import versions_document


async def root(request: web.Request) -> web.Response:
    return web.json_response(versions_document(request), status=300)


async def versions(request: web.Request) -> web.Response:
    return web.json_response(versions_document(request))


def schema_view(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        reject_body(request)
        return web.json_response(schema(name))

    return view


async def import_info(request: web.Request) -> web.Response:
    """The interoperable import methods served, in Glance's shape."""
    reject_body(request)
    return web.json_response(
        {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": list(import_methods(request.app[BUS].context)),
            }
        }
    )


async def stores_info(request: web.Request) -> web.Response:
    """The stores uploads can go to (`X-Image-Meta-Store`), in Glance's shape."""
    reject_body(request)
    stores = request.app[STORES]
    return web.json_response({"stores": [_store_json(s, stores.default_name) for s in stores.all]})


async def stores_detail(request: web.Request) -> web.Response:
    """The stores with their driver, weight and settings: for admins and services."""
    reject_body(request)
    request.app[POLICY].enforce(metadata_of(request).actor, "stores_info_detail", {})
    configured_stores = request.app[STORES]
    stores = [
        {
            **_store_json(configured, configured_stores.default_name),
            "type": configured.driver_name,
            "weight": configured.weight,
            "properties": dict(configured.properties),
        }
        for configured in configured_stores.all
    ]
    return web.json_response({"stores": stores})


def _store_json(configured: ConfiguredStore, default_name: str) -> dict[str, str]:
    shown = {"id": configured.name}
    if configured.description:
        shown["description"] = configured.description
    if configured.name == default_name:
        shown["default"] = "true"
    if configured.read_only:
        shown["read-only"] = "true"
    return shown


async def usage_info(request: web.Request) -> web.Response:
    """The caller's project's usage against its quotas; `{}` when it has none (as Glance
    without unified limits)."""
    reject_body(request)
    quotas = request.app[BUS].context.quotas
    project = metadata_of(request).actor.project_id
    if quotas is None or project is None:
        return web.json_response({"usage": {}})
    limits = quotas.limits.of(project)
    if limits.unlimited:
        return web.json_response({"usage": {}})
    usage = await quotas.usage(project)
    return web.json_response(
        {
            "usage": {
                "image_size_total": {"limit": limits.image_size_total, "usage": mib(usage.bytes)},
                "image_count_total": {"limit": limits.image_count_total, "usage": usage.images},
                "image_count_uploading": {
                    "limit": limits.uploads_in_progress,
                    "usage": usage.uploads,
                },
            }
        }
    )


async def to_v2_root(request: web.Request) -> web.Response:
    """`/v2` (or `/v2.N`) without a slash: Glance redirects to `/v2/`."""
    raise web.HTTPFound(public_url(request, "/v2/"))
