"""Receiving a request's body from the socket straight into page-aligned blocks.

aiohttp's parser copies every piece of a body out of each socket read into a new bytes object,
which the filesystem store then copies into its page-aligned block: two copies of every byte,
an allocation per read, and the Python of each piece. A `BodyReceiver` is put on the
connection's transport for the rest of one body (`asyncio.BufferedProtocol`): the kernel
copies the body's data into the block being filled (`recv_into`). A read of a chunked body
takes as many chunks as the block has room for: the first read's chunk stays where it landed,
each later one moves down over the framing before it (a move within the block, where the
framing is squeezed out; far cheaper than a turn of the event loop per chunk). Blocks are
handed on whole as views of an `AlignedBuffer`, which `stores.streaming.aligned_blocks` passes
on as they are.

The connection that took the body (`BodyOwner`, see `infra/http/guarded_protocol.py`) is told
when bytes arrive (its body idle timeout), when the body has ended (it takes the transport
back, with whatever followed the body: the next request), and when it failed or was given up
(the connection is closed after the answer). The connection's loss and its writing flow
control are passed on to it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator
from typing import Protocol

from catalog.errors import BadRequest
from infra.http.body_framing import BodyFraming
from stores.streaming import BLOCK_SIZE, AlignedBuffer

BUFFERS = 3
"""A block is handed on, hashed and written while the next fills: the consumer holds block n
until it asks for n + 2, and the block after the one it asked for may be filling meanwhile."""


class BodyOwner(Protocol):
    """The connection's own protocol, for the time a receiver has its transport."""

    def connection_lost(self, exc: Exception | None) -> None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...

    def body_bytes_arrived(self) -> None: ...

    def body_ended(self, rest: bytes) -> None:
        """The body is all in; `rest` (the next request's first bytes) is the owner's."""
        ...

    def body_failed(self) -> None:
        """The body will not be read to its end: the connection closes after the answer."""
        ...


class BodyReceiver(asyncio.BufferedProtocol):
    """One request's body, received into aligned blocks: iterate `blocks()` once."""

    def __init__(
        self,
        transport: asyncio.Transport,
        owner: BodyOwner,
        framing: BodyFraming,
        *,
        linger_seconds: float,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        self._transport = transport
        self._linger_seconds = linger_seconds
        self._owner = owner
        self._framing = framing
        self._block_size = block_size
        self._blocks = [memoryview(AlignedBuffer(-1, block_size)) for _ in range(BUFFERS)]
        self._filling = 0  # the index of the block being filled
        self._filled = 0
        self._asked = -1  # the index of the block the consumer asked for last
        self._ready: deque[memoryview] = deque()
        self._ended = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._discarding = False
        self.received = 0
        """Bytes of body data received so far."""

    def start(self, prefix: bytes) -> None:
        """Take the transport, with `prefix`: the body's bytes already read from the socket."""
        self._transport.set_protocol(self)
        self._transport.resume_reading()
        if prefix:
            self._absorb(prefix)

    def fail(self, error: BaseException) -> None:
        """End the body with `error` for whoever reads it; nothing more is read."""
        if self._ended or self._error is not None:
            return
        self._error = error
        self._pause()
        self._wake()
        self._owner.body_failed()

    async def blocks(self) -> AsyncGenerator[memoryview, None]:
        """The body's blocks: full ones, then the last. Each stays intact until the one
        after next is asked for."""
        try:
            while True:
                self._asked += 1
                if self._paused and self._may_fill(self._filling) and self._error is None:
                    self._paused = False
                    self._transport.resume_reading()
                while not self._ready and not self._ended and self._error is None:
                    self._waiter = asyncio.get_running_loop().create_future()
                    await self._waiter
                if self._error is not None:
                    raise self._error
                if not self._ready:
                    return
                yield self._ready.popleft()
        finally:
            if not self._ended and self._error is None:
                self._discard_rest()

    # asyncio.BufferedProtocol

    def get_buffer(self, sizehint: int) -> memoryview:
        size = min(self._block_size - self._filled, self._framing.readable())
        if size <= 0:
            raise RuntimeError("a body receiver was read into with no room")
        return self._block()[self._filled : self._filled + size]

    def buffer_updated(self, nbytes: int) -> None:
        self._owner.body_bytes_arrived()
        in_place = min(nbytes, self._framing.in_data())
        if in_place:
            start = self._filled
            self._framing.took(in_place)
            if not self._discarding:
                self._filled += in_place
                self.received += in_place
            if nbytes == in_place:
                self._block_done_if_full()
                if self._framing.done:
                    self._end(b"")
                return
            # Framing followed the data, and perhaps more chunks: decoded where they landed.
            excess = self._block()[start + in_place : start + nbytes]
        else:
            excess = self._block()[self._filled : self._filled + nbytes]
        self._absorb(excess)

    def eof_received(self) -> bool | None:
        self.fail(ConnectionResetError("the client closed the connection before the body's end"))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionResetError("Connection lost"))
        self._owner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._owner.pause_writing()

    def resume_writing(self) -> None:
        self._owner.resume_writing()

    # Within

    def _absorb(self, raw: bytes | memoryview) -> None:
        """Decode `raw` (framing and data) into the blocks. It may lie in the block being
        filled, beyond its filled part: its data then moves down over the framing (`_put`)."""
        try:
            spans, rest = self._framing.feed(memoryview(raw))
        except BadRequest as e:
            self.fail(e)
            return
        for span in spans:
            self._put(span)
        if self._framing.done:
            self._end(bytes(rest))

    def _put(self, data: memoryview) -> None:
        if self._discarding:
            return
        self.received += len(data)
        while data:
            taken = min(len(data), self._block_size - self._filled)
            # A memoryview's slice assignment moves overlapping bytes safely (memmove);
            # `data` may lie in this very block, a little further on.
            self._block()[self._filled : self._filled + taken] = data[:taken]
            self._filled += taken
            data = data[taken:]
            self._block_done_if_full()

    def _block_done_if_full(self) -> None:
        if self._discarding or self._filled < self._block_size:
            return
        self._ready.append(self._block()[:])  # a view of its own: the consumer may release it
        self._filling += 1
        self._filled = 0
        self._wake()
        if not self._may_fill(self._filling):
            self._pause()

    def _block(self) -> memoryview:
        """The block being filled."""
        return self._blocks[self._filling % BUFFERS]

    def _may_fill(self, index: int) -> bool:
        # Block `index` reuses the buffer of block index - BUFFERS, which the consumer holds
        # until it asks for the one after next.
        return index < BUFFERS or index - BUFFERS + 2 <= self._asked

    def _end(self, rest: bytes) -> None:
        if self._filled and not self._discarding:
            self._ready.append(self._block()[: self._filled])
        self._ended = True
        self._wake()
        if self._paused:  # the connection is handed back reading
            self._paused = False
            self._transport.resume_reading()
        self._owner.body_ended(rest)

    def _discard_rest(self) -> None:
        """The reader gave up (its answer is a refusal): the rest of the body is read and
        dropped, as aiohttp drains a body its handler left, so that the client reads the answer
        and the connection may serve the next request; for `linger_seconds` at most, as aiohttp
        lingers, then the connection is closed."""
        self._discarding = True
        self._ready.clear()
        self._filled = 0
        asyncio.get_running_loop().call_later(self._linger_seconds, self._stop_lingering)
        if self._paused:
            self._paused = False
            self._transport.resume_reading()

    def _stop_lingering(self) -> None:
        if not self._ended and self._error is None:
            self._transport.close()  # lost, then failed: the owner closes with it

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
