"""The caller's identity from request headers, and the request id every response carries."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from catalog.events import EventMetadata
from catalog.identity import Actor
from infra.http.keys import API_SETTINGS

ALL_ROLES = ("admin", "member", "reader")
METADATA_KEY = web.RequestKey("metadata", EventMetadata)
REQUEST_ID_HEADER = "x-openstack-request-id"
# oslo.middleware's rule: a caller's id is taken (as the global request id) only in this form.
GLOBAL_REQUEST_ID = re.compile(r"req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")


def _roles(header: str) -> tuple[str, ...]:
    # python-glanceclient percent-encodes the list; keystonemiddleware sends it plain.
    return tuple(r.strip().lower() for r in unquote(header).split(",") if r.strip())


def actor_from(request: web.Request) -> Actor:
    settings = request.app[API_SETTINGS]
    headers = request.headers
    project = headers.get("X-Project-Id") or headers.get("X-Tenant-Id")
    user = headers.get("X-User-Id")
    roles = _roles(headers.get("X-Roles", ""))
    if settings.auth_mode == "noauth" and project is None and user is None and not roles:
        return Actor(
            user_id=settings.default_user, project_id=settings.default_project, roles=ALL_ROLES
        )
    return Actor(user_id=user, project_id=project, roles=roles)


def global_request_id_from(request: web.Request) -> str | None:
    """The caller's `X-OpenStack-Request-ID`, if well formed; anything else is ignored.

    As in OpenStack's services, it never replaces the id this catalog gives the request: it is
    recorded beside it, so one caller's chain of requests can be followed across services.
    """
    inbound = request.headers.get(REQUEST_ID_HEADER, "")
    return inbound if GLOBAL_REQUEST_ID.fullmatch(inbound) else None


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = f"req-{uuid.uuid4()}"
    global_request_id = global_request_id_from(request)
    actor = actor_from(request)
    request[METADATA_KEY] = EventMetadata(
        actor=actor, request_id=request_id, global_request_id=global_request_id
    )
    structlog.contextvars.bind_contextvars(
        request_id=request_id,
        global_request_id=global_request_id,
        user_id=actor.user_id,
        project_id=actor.project_id,
    )
    try:
        return await handler(request)
    finally:
        structlog.contextvars.unbind_contextvars(
            "request_id", "global_request_id", "user_id", "project_id"
        )


async def add_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """`on_response_prepare`: the request id goes on every response as its headers are sent.

    Here rather than in the middleware, because a streamed response (a download) sends its
    headers before its handler returns, and an error aiohttp answers by itself never comes
    back through the middleware.
    """
    metadata = request.get(METADATA_KEY)
    request_id = metadata.request_id if isinstance(metadata, EventMetadata) else None
    response.headers[REQUEST_ID_HEADER] = request_id or f"req-{uuid.uuid4()}"


def metadata_of(request: web.Request) -> EventMetadata:
    return request[METADATA_KEY]
