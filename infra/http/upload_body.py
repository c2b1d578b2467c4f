"""An upload's body, for the upload and staging views: received into aligned blocks where the
connection allows it (`GuardedRequestHandler.take_body`), else read as aiohttp parses it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

from aiohttp import web

from catalog.ports import Chunk
from infra.http.body_receiver import BodyReceiver
from infra.http.guarded_protocol import GuardedRequestHandler


class UploadBody:
    """The body of `request`, taken over from aiohttp's parser when it is first read from."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._receiver: BodyReceiver | None = None

    @property
    def received(self) -> int:
        """Bytes of the body's data received so far."""
        if self._receiver is not None:
            return self._receiver.received
        return self._request.content.total_bytes

    async def chunks(self) -> AsyncGenerator[Chunk, None]:
        """The body's data, once. Closing it before the end gives the rest up."""
        protocol = self._request.protocol
        if isinstance(protocol, GuardedRequestHandler):
            self._receiver = protocol.take_body(self._request)
        if self._receiver is None:
            # The parser's pieces as they are: the store regroups them into its blocks
            # anyway, so joining them into chunks of a set size would copy every byte again.
            async for piece in self._request.content.iter_any():
                yield piece
            return
        async with contextlib.aclosing(self._receiver.blocks()) as blocks:
            async for block in blocks:
                yield block
