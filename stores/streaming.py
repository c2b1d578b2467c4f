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
    immutable: worker threads may still be reading one while the next fills. Each byte is
    copied once at most, when a block is joined from the pieces it spans (a chunk that is a
    whole block already is passed on as it is).
    """
    if block_size <= 0:
        raise ValueError("block_size must be positive")
    pieces: list[bytes | memoryview] = []
    buffered = 0
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if max_size is not None and total > max_size:
            raise SizeLimitExceeded(f"the data is larger than the limit of {max_size} bytes")
        rest: bytes | memoryview = chunk
        while buffered + len(rest) >= block_size:
            wanted = block_size - buffered
            if not pieces and wanted == len(rest):
                block, rest = bytes(rest), b""  # bytes(a bytes) is that same bytes
            else:
                view = memoryview(rest)
                pieces.append(view[:wanted])
                block, rest = b"".join(pieces), view[wanted:]
                pieces.clear()
            buffered = 0
            yield block
        if rest:
            pieces.append(rest)
            buffered += len(rest)
    if pieces:
        yield b"".join(pieces)


def check_range(offset: int, length: int | None) -> None:
    """`ValueError` unless `offset` and `length` describe a possible byte range."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    if length is not None and length < 0:
        raise ValueError(f"length must not be negative, got {length}")
