"""Regrouping a stream of byte chunks into blocks of a useful size, with a size limit."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

from stores.errors import SizeLimitExceeded

MiB = 1024 * 1024

BLOCK_SIZE = 4 * MiB
"""Uploads are hashed and written in blocks of this size: big enough that handing a block to a
worker thread costs little next to the work, small enough that a few in flight stay cheap."""

READ_CHUNK_SIZE = 1 * MiB
"""Downloads are yielded in chunks of about this size."""


async def regroup(
    chunks: AsyncIterable[bytes], block_size: int, *, max_size: int | None = None
) -> AsyncGenerator[bytes, None]:
    """The bytes of `chunks`, as blocks of exactly `block_size` bytes (the last one shorter).

    Raises `SizeLimitExceeded` as soon as more than `max_size` bytes have arrived, before the
    chunk that passes the limit is buffered. Only one block is buffered at a time. Blocks are
    immutable copies: worker threads may still be reading one while the next fills.
    """
    if block_size <= 0:
        raise ValueError("block_size must be positive")
    buffer = bytearray()
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if max_size is not None and total > max_size:
            raise SizeLimitExceeded(f"the data is larger than the limit of {max_size} bytes")
        buffer += chunk
        while len(buffer) >= block_size:
            yield _take(buffer, block_size)
    if buffer:
        yield bytes(buffer)


def _take(buffer: bytearray, size: int) -> bytes:
    """Remove the first `size` bytes of `buffer` and return them, copied only once."""
    with memoryview(buffer) as view, view[:size] as head:
        taken = bytes(head)
    del buffer[:size]
    return taken


def check_range(offset: int, length: int | None) -> None:
    """`ValueError` unless `offset` and `length` describe a possible byte range."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    if length is not None and length < 0:
        raise ValueError(f"length must not be negative, got {length}")
