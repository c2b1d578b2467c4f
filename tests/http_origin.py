"""A real web server on loopback that holds image data, for the http store's tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

DATA = bytes(range(256)) * 8192  # 2 MiB


class Origin:
    """A web server holding one image (with Range support, and without, compressed on the fly,
    without HEAD, without a size, with a wrong range), redirects and errors. It records every
    request, so a test can tell that a refused location was never fetched."""

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
            "/busy": self._busy,
            "/empty": self._empty,
            "/compressing": self._compressing,
            "/get-only": self._get_only,
            "/unsized": self._unsized,
            "/from-start": self._from_start,
            "/cut-short": self._cut_short,
            "/held": self._held,
            "/stalled": self._stalled,
        }
        for path, handler in routes.items():
            self.app.router.add_route("*", path, handler)
        self.redirect_to = "/image"
        self.release = asyncio.Event()
        """What `/held` waits for before it answers."""

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

    async def _busy(self, request: web.Request) -> web.Response:
        raise web.HTTPTooManyRequests()

    async def _empty(self, request: web.Request) -> web.Response:
        raise web.HTTPNoContent()

    async def _compressing(self, request: web.Request) -> web.Response:
        response = web.Response(body=DATA)
        response.enable_compression()  # if the client accepts gzip or deflate
        return response

    async def _get_only(self, request: web.Request) -> web.Response:
        if request.method == "HEAD":
            raise web.HTTPMethodNotAllowed("HEAD", ["GET"])
        return web.Response(body=DATA)

    async def _unsized(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        if request.method != "HEAD":
            await response.write(DATA)
        await response.write_eof()
        return response

    async def _held(self, request: web.Request) -> web.Response:
        await self.release.wait()
        return web.Response(body=DATA)

    async def _stalled(self, request: web.Request) -> web.StreamResponse:
        # Promises all the bytes, sends half, then nothing until released: a source that hangs.
        response = web.StreamResponse(headers={"Content-Length": str(len(DATA))})
        await response.prepare(request)
        await response.write(DATA[: len(DATA) // 2])
        await self.release.wait()
        return response

    async def _cut_short(self, request: web.Request) -> web.StreamResponse:
        # Promises all the bytes, sends half, then drops the connection: a source that breaks.
        response = web.StreamResponse(headers={"Content-Length": str(len(DATA))})
        await response.prepare(request)
        await response.write(DATA[: len(DATA) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    async def _from_start(self, request: web.Request) -> web.Response:
        # Answers any range with all the bytes, but says so: a valid, if lazy, 206.
        headers = {"Content-Range": f"bytes 0-{len(DATA) - 1}/{len(DATA)}"}
        return web.Response(status=206, body=DATA, headers=headers)


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
