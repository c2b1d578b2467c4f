"""Version documents and schemas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from catalog.commands.import_image import IMPORT_METHODS
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
                "value": list(IMPORT_METHODS),
            }
        }
    )


async def usage_info(request: web.Request) -> web.Response:
    """Glance's answer without unified limits (quotas here are per image, not per project)."""
    reject_body(request)
    return web.json_response({"usage": {}})


async def to_v2_root(request: web.Request) -> web.Response:
    """`/v2` (or `/v2.N`) without a slash: Glance redirects to `/v2/`."""
    raise web.HTTPFound(f"{request.scheme}://{request.host}/v2/")
