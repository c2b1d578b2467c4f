"""GET /v2/images/{image_id}/history: the image's events, from the log (not a Glance route)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from catalog.queries.image_history import image_history
from infra.http.history_json import entry_json
from infra.http.history_params import history_query
from infra.http.identity import metadata_of
from infra.http.keys import AUDIT_LOG, POLICY
from infra.http.requests import image_id_from, reject_body


async def history(request: web.Request) -> web.Response:
    reject_body(request)
    actor = metadata_of(request).actor
    image_id = image_id_from(request, "No image found with ID {id}")
    query = history_query(request.query)
    page = await image_history(request.app[AUDIT_LOG], image_id, actor, query, request.app[POLICY])
    body: dict[str, object] = {
        "image_id": str(image_id),
        "events": [entry_json(entry) for entry in page.entries],
    }
    if page.next_after is not None:
        kept = [(k, v) for k, v in request.query.items() if k != "marker"]
        marker = ("marker", str(page.next_after))
        body["next"] = f"/v2/images/{image_id}/history?" + urlencode([*kept, marker])
    return web.json_response(body)
