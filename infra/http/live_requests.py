"""Requests counted as the process's live work while they are served (infra/live_work.py), so
that background work in the process (a consumer catching up) gives way to them."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from infra.live_work import LIVE_WORK


@web.middleware
async def live_requests_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    with LIVE_WORK.running():
        return await handler(request)
