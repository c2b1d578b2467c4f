"""The caller's identity on every request, and the request id every response carries."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from catalog.events import EventMetadata
from infra.http.authentication import AUTHENTICATION, NotAuthenticated


@dataclass(frozen=True)
class RequestIds:
    request_id: str
    """The id this catalog gives the request (`x-openstack-request-id`)."""
    global_request_id: str | None
    """The caller's, if it sent a well-formed one."""


REQUEST_IDS_KEY = web.RequestKey("request_ids", RequestIds)
METADATA_KEY = web.RequestKey("metadata", EventMetadata)
REQUEST_ID_HEADER = "x-openstack-request-id"
# oslo.middleware's rule: a caller's id is taken (as the global request id) only in this form.
GLOBAL_REQUEST_ID = re.compile(r"req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")


def global_request_id_from(request: web.Request) -> str | None:
    """The caller's `X-OpenStack-Request-ID`, if well formed; anything else is ignored.

    As in OpenStack's services, it never replaces the id this catalog gives the request: it is
    recorded beside it, so one caller's chain of requests can be followed across services.
    """
    inbound = request.headers.get(REQUEST_ID_HEADER, "")
    return inbound if GLOBAL_REQUEST_ID.fullmatch(inbound) else None


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request's ids, bound to every log line of the request, its errors' too (outermost)."""
    ids = RequestIds(f"req-{uuid.uuid4()}", global_request_id_from(request))
    request[REQUEST_IDS_KEY] = ids
    structlog.contextvars.bind_contextvars(
        request_id=ids.request_id, global_request_id=ids.global_request_id
    )
    try:
        return await handler(request)
    finally:
        # The caller bound by `identity_middleware` too: it stays bound until here, so the
        # error middleware's log lines say who asked.
        structlog.contextvars.unbind_contextvars(
            "request_id", "global_request_id", "user_id", "project_id"
        )


@web.middleware
async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is asking, read inside the error middleware: unreadable identity headers are a 400,
    Keystone out of reach a 503 (see `infra/http/authentication.py`)."""
    try:
        actor = await request.app[AUTHENTICATION].actor(request)
    except NotAuthenticated as e:
        return e.response
    ids = request[REQUEST_IDS_KEY]
    request[METADATA_KEY] = EventMetadata(
        actor=actor, request_id=ids.request_id, global_request_id=ids.global_request_id
    )
    structlog.contextvars.bind_contextvars(user_id=actor.user_id, project_id=actor.project_id)
    return await handler(request)


async def add_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """`on_response_prepare`: the request id goes on every response as its headers are sent.

    Here rather than in the middleware, because a streamed response (a download) sends its
    headers before its handler returns, and an error aiohttp answers by itself never comes
    back through the middleware.
    """
    ids = request.get(REQUEST_IDS_KEY)
    request_id = ids.request_id if isinstance(ids, RequestIds) else None
    response.headers[REQUEST_ID_HEADER] = request_id or f"req-{uuid.uuid4()}"


def metadata_of(request: web.Request) -> EventMetadata:
    return request[METADATA_KEY]
