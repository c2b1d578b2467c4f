"""A body receiver's blocks, whatever the socket's reads hold: many chunks in one read (their
framing squeezed out in place), a read across a block's end, a body's end with the next
request behind it. The transport is a stand-in that hands the receiver the wire's bytes in
reads of the sizes given, as the event loop does (`get_buffer`, then `buffer_updated`)."""

from __future__ import annotations

import asyncio
import mmap
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from infra.http.body_framing import BodyFraming, ChunkedBody, SizedBody
from infra.http.body_receiver import BodyReceiver
from tests.unit.test_body_framing import chunked

BLOCK = mmap.PAGESIZE
NEXT_REQUEST = b"GET / HTTP/1.1\r\n"


class Socket:
    """The transport a receiver reads from: the wire's bytes, in reads of the given sizes
    (each at most what the receiver's buffer has room for), while it is not paused."""

    def __init__(self, wire: bytes, reads: list[int]) -> None:
        self.wire = wire
        self._reads: Iterator[int] = iter(reads)
        self.paused = False
        self.reads = 0

    def set_protocol(self, protocol: object) -> None:
        pass

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def close(self) -> None:
        pass

    def read_into(self, receiver: BodyReceiver) -> None:
        buffer = receiver.get_buffer(-1)
        size = min(len(buffer), len(self.wire), max(1, next(self._reads, 3 * BLOCK)))
        buffer[:size] = self.wire[:size]
        self.wire = self.wire[size:]
        self.reads += 1
        receiver.buffer_updated(size)


class Owner:
    def __init__(self) -> None:
        self.rest: bytes | None = None
        self.failed = False

    def connection_lost(self, exc: Exception | None) -> None:
        pass

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass

    def body_bytes_arrived(self) -> None:
        pass

    def body_ended(self, rest: bytes) -> None:
        self.rest = rest

    def body_failed(self) -> None:
        self.failed = True


@dataclass
class Received:
    blocks: list[bytes]
    """Each copied as it came."""
    handed_back: bytes | None
    """What the receiver read past the body's end and gave back."""
    in_socket: bytes
    """What it left unread."""
    reads: int


async def receive(framing: BodyFraming, wire: bytes, reads: list[int]) -> Received:
    socket, owner = Socket(wire, reads), Owner()
    receiver = BodyReceiver(
        socket,  # type: ignore[arg-type]
        owner,
        framing,
        linger_seconds=1.0,
        block_size=BLOCK,
    )
    receiver.start(b"")
    blocks: list[bytes] = []

    async def feed() -> None:
        while owner.rest is None and not owner.failed:
            if not socket.paused:
                socket.read_into(receiver)
            await asyncio.sleep(0)

    feeding = asyncio.create_task(feed())
    async for block in receiver.blocks():
        blocks.append(bytes(block))
        await asyncio.sleep(0)
    await feeding
    return Received(blocks, owner.rest, socket.wire, socket.reads)


def assert_blocks_hold(received: Received, data: bytes) -> None:
    assert b"".join(received.blocks) == data
    assert all(len(block) == BLOCK for block in received.blocks[:-1])
    assert all(received.blocks)


def body_data(size: int) -> bytes:
    """`size` bytes in which a byte out of its place shows."""
    return bytes(i % 251 for i in range(size))


READ_SIZES = st.lists(st.one_of(st.integers(1, 300), st.integers(1, 2 * BLOCK)), max_size=40)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 3 * BLOCK + 100).map(body_data),
    st.lists(st.integers(1, 700), max_size=40),
    READ_SIZES,
)
def test_chunks_read_many_at_a_time_fill_whole_blocks_with_their_data(
    data: bytes, sizes: list[int], reads: list[int]
) -> None:
    wire = chunked(data, sizes, trailers=b"X-Trailer: yes\r\n") + NEXT_REQUEST
    received = asyncio.run(receive(ChunkedBody(), wire, reads))
    assert_blocks_hold(received, data)
    assert received.handed_back is not None
    assert received.handed_back + received.in_socket == NEXT_REQUEST


def test_small_chunks_are_taken_many_to_a_read() -> None:
    data = body_data(3 * BLOCK)
    chunks = len(data) // 100 + 1
    received = asyncio.run(receive(ChunkedBody(), chunked(data, [100] * chunks), []))
    assert_blocks_hold(received, data)
    # A read fills what room the block has; the framing squeezed out leaves a little more.
    assert received.reads < chunks / 4


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 2 * BLOCK + 10).map(body_data), READ_SIZES)
def test_a_sized_body_never_reads_past_its_end(data: bytes, reads: list[int]) -> None:
    received = asyncio.run(receive(SizedBody(len(data)), data + NEXT_REQUEST, reads))
    assert_blocks_hold(received, data)
    assert (received.handed_back, received.in_socket) == (b"", NEXT_REQUEST)
