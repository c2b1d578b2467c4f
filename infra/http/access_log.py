"""One log line per request answered: method, path, status, bytes, duration, request id and
who asked, in the catalog's own log format.

aiohttp calls the logger once the response is sent, for every request, also those answered
before any view (a 404, a 401). Successful health checks come every second or two from each
load balancer: they are logged at DEBUG, so they do not bury the rest.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from infra.http.identity import METADATA_KEY, REQUEST_IDS_KEY
from infra.http.origin import ORIGIN_KEY
from infra.http.views import healthcheck

access = structlog.get_logger("catalog.access")

BODY_BYTES_SENT = web.RequestKey("body_bytes_sent", int)
"""Set by a view that sends its body past aiohttp's writer (sendfile): the bytes that went."""


def _body_bytes(request: web.BaseRequest, response: web.StreamResponse) -> int | None:
    """The bytes of the response's body that went out (aiohttp's own count adds the head)."""
    if BODY_BYTES_SENT in request:
        return request[BODY_BYTES_SENT]
    if request.method == "HEAD":
        return 0
    if isinstance(response, web.Response) and isinstance(response.body, bytes):
        return len(response.body)
    return response.content_length


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        ids, metadata = request.get(REQUEST_IDS_KEY), request.get(METADATA_KEY)
        origin = request.get(ORIGIN_KEY)
        quiet = request.path == healthcheck.PATH and response.status < 400
        line = {
            "method": request.method,
            "path": request.raw_path,
            "status": response.status,
            "bytes": _body_bytes(request, response),
            "duration_ms": round(time * 1000, 1),
            "request_id": ids.request_id if ids else None,
            "global_request_id": ids.global_request_id if ids else None,
            "project_id": metadata.actor.project_id if metadata else None,
            "user_id": metadata.actor.user_id if metadata else None,
            "client": origin.client if origin else request.remote,
        }
        said = {key: value for key, value in line.items() if value is not None}
        (access.debug if quiet else access.info)("request", **said)
