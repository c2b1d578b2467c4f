"""The caller's identity from request headers, and the request id every response carries."""

from __future__ import annotations

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


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = f"req-{uuid.uuid4()}"
    actor = actor_from(request)
    request[METADATA_KEY] = EventMetadata(actor=actor, request_id=request_id)
    structlog.contextvars.bind_contextvars(
        request_id=request_id, user_id=actor.user_id, project_id=actor.project_id
    )
    try:
        # The error middleware runs inside this one, so every error is a response by now.
        response = await handler(request)
    finally:
        structlog.contextvars.unbind_contextvars("request_id", "user_id", "project_id")
    response.headers["x-openstack-request-id"] = request_id
    return response


def metadata_of(request: web.Request) -> EventMetadata:
    return request[METADATA_KEY]
