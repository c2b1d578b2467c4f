"""A real web server on loopback that holds image data, for the http store's tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

DATA = bytes(range(256)) * 8192  # 2 MiB


class Origin:
    """A web server holding one image (with Range support, and without), redirects and errors.
    It records every request, so a test can tell that a refused location was never fetched."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.requests: list[str] = []
        self.app = web.Application(middlewares=[self._record])
        routes = {
            "/image": self._ranged,
            "/plain": self._plain,
            "/moved": self._moved,
            "/loop": self._loop,
            "/broken": self._broken,
            "/forbidden": self._forbidden,
        }
        for path, handler in routes.items():
            self.app.router.add_route("*", path, handler)
        self.redirect_to = "/image"

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        return await handler(request)

    async def _ranged(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self.file)  # answers Range with 206

    async def _plain(self, request: web.Request) -> web.Response:
        return web.Response(body=DATA)  # ignores Range

    async def _moved(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self.redirect_to)

    async def _loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def _broken(self, request: web.Request) -> web.Response:
        raise web.HTTPInternalServerError()

    async def _forbidden(self, request: web.Request) -> web.Response:
        raise web.HTTPForbidden()


@contextlib.asynccontextmanager
async def serving(origin: Origin, host: str = "127.0.0.1") -> AsyncIterator[str]:
    runner = web.AppRunner(origin.app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
