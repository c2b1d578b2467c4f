"""Version documents and schemas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from infra.http.requests import reject_body
from infra.http.schemas import schema

CURRENT = "v2.17"
SUPPORTED = ("v2.15", "v2.9", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0")


def _versions(request: web.Request) -> dict[str, object]:
    href = f"{request.scheme}://{request.host}/v2/"
    entries = [(CURRENT, "CURRENT"), *((v, "SUPPORTED") for v in SUPPORTED)]
    # Glance lists them in this order; clients pick by status, not position.
    order = [SUPPORTED[0], SUPPORTED[1], CURRENT, *SUPPORTED[2:]]
    by_id = dict(entries)
    return {
        "versions": [
            {"id": v, "status": by_id[v], "links": [{"rel": "self", "href": href}]} for v in order
        ]
    }


async def root(request: web.Request) -> web.Response:
    return web.json_response(_versions(request), status=300)


async def versions(request: web.Request) -> web.Response:
    return web.json_response(_versions(request))


def schema_view(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        reject_body(request)
        return web.json_response(schema(name))

    return view


async def import_info(request: web.Request) -> web.Response:
    """No interoperable import methods are offered (yet): an empty list, in Glance's shape."""
    reject_body(request)
    return web.json_response(
        {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": [],
            }
        }
    )


async def usage_info(request: web.Request) -> web.Response:
    """Glance's answer without unified limits (quotas here are per image, not per project)."""
    reject_body(request)
    return web.json_response({"usage": {}})
