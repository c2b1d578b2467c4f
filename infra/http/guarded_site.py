"""Serving the API on a listening socket with `GuardedRequestHandler`s, and at most so many
connections open at once.

A connection beyond the limit is answered 503 with `Retry-After` as soon as it is accepted,
without reading its request, and closed: it holds a file for an instant, not for as long as its
client likes, so the process keeps files for its database, stores and logs.
"""

from __future__ import annotations

import asyncio
import socket
import time

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from infra.http.access_log import AccessLogger
from infra.http.guarded_protocol import ClientLimits, GuardedRequestHandler
from infra.http.raw_answer import raw_answer
from infra.settings import ApiSettings

log = structlog.get_logger(__name__)

REFUSED = "The server has too many connections open; try again later."
RETRY_AFTER_SECONDS = 5
REFUSALS_LOGGED_EVERY_SECONDS = 60.0


class _Refused(asyncio.Protocol):
    """A connection beyond the limit: answered 503 at once, then closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(raw_answer(503, REFUSED, retry_after=RETRY_AFTER_SECONDS))
        transport.close()


class ConnectionGate:
    """The connections open on a site, at most `limit`; refusals are logged now and then, not
    once each (a flood would bury the log)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._refused = 0
        self._logged_at = float("-inf")

    def admit(self) -> bool:
        if self.open < self.limit:
            self.open += 1
            return True
        self._refused += 1
        now = time.monotonic()
        if now - self._logged_at >= REFUSALS_LOGGED_EVERY_SECONDS:
            log.warning("connections_refused", max_connections=self.limit, refused=self._refused)
            self._logged_at, self._refused = now, 0
        return False

    def closed(self) -> None:
        self.open -= 1


class GuardedSite(web.BaseSite):
    """`runner`'s server on the listening `sock`, its connections guarded by `limits` and no
    more than `max_connections` of them open at once."""

    def __init__(
        self,
        runner: web.BaseRunner,
        sock: socket.socket,
        *,
        limits: ClientLimits,
        max_connections: int,
        access_log_class: type[AbstractAccessLogger],
    ) -> None:
        super().__init__(runner)
        self._sock = sock
        self._limits = limits
        self._access_log_class = access_log_class
        self.gate = ConnectionGate(max_connections)
        host, port = sock.getsockname()[:2]
        self._name = f"http://{host}:{port}"

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None

        def connection() -> asyncio.Protocol:
            if not self.gate.admit():
                return _Refused()
            return GuardedRequestHandler(
                server,
                loop=loop,
                limits=self._limits,
                on_lost=self.gate.closed,
                access_log_class=self._access_log_class,
            )

        self._server = await loop.create_server(connection, sock=self._sock)


async def serve_api(
    app: web.Application, sock: socket.socket, api: ApiSettings, *, max_connections: int
) -> web.AppRunner:
    """Serve `app` on the listening `sock` with the client limits of `api`; the runner, for
    its cleanup."""
    runner = web.AppRunner(app, access_log_class=AccessLogger)
    await runner.setup()
    site = GuardedSite(
        runner,
        sock,
        limits=ClientLimits.of(api),
        max_connections=max_connections,
        access_log_class=AccessLogger,
    )
    await site.start()
    return runner
