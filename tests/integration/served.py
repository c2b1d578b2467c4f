"""The API served on a real socket as `catalog serve` serves it (its connection guards
included), for tests whose clients are raw sockets that stall, drip or hold on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from infra import bootstrap
from infra.bootstrap import Container
from infra.http.app import create_app
from infra.http.guarded_site import serve_api
from infra.settings import Settings
from infra.workers import listening_socket
from tests.waiting import DEADLINE_SECONDS

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class Served:
    container: Container
    host: str
    port: int
    opened: list[asyncio.StreamWriter] = field(default_factory=list)
    """Every connection the test opened, closed when the server stops."""

    async def connect(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened.append(writer)
        return reader, writer


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[Served]:
    container = await bootstrap.build(settings)
    sock = listening_socket("127.0.0.1", 0)
    runner = await serve_api(
        create_app(container), sock, settings.api, max_connections=settings.api.max_connections
    )
    try:
        host, port = sock.getsockname()[:2]
        api = Served(container, host, port)
        yield api
        for writer in api.opened:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    finally:
        await runner.cleanup()
        await container.close()
        sock.close()


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the tests'
    deadline: a server that never closes fails the test)."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        return await reader.read()


async def one_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The head and body of the next answer on a connection that stays open."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head, await reader.readexactly(length)


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
