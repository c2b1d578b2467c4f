"""Regrouping a stream of byte chunks into blocks of a useful size, with a size limit."""

from __future__ import annotations

import mmap
from collections.abc import AsyncGenerator, AsyncIterable

from stores.base import Chunk
from stores.errors import SizeLimitExceeded

MiB = 1024 * 1024

BLOCK_SIZE = 4 * MiB
"""Uploads are hashed and written in blocks of this size: big enough that handing a block to a
worker thread costs little next to the work, small enough that a few in flight stay cheap."""

READ_CHUNK_SIZE = 1 * MiB
"""Downloads are yielded in chunks of about this size."""


async def regroup(
    chunks: AsyncIterable[Chunk], block_size: int, *, max_size: int | None = None
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
                # bytes(a bytes) is that same bytes; a view is copied, as it may be reused
                block, rest = bytes(rest), b""
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


class AlignedBuffer(mmap.mmap):
    """Anonymous, page-aligned memory that a producer of chunks fills and hands on whole, as
    a view of it: `aligned_blocks` passes such a chunk on as it is, without copying it, when it
    is a whole block. Its producer must keep a chunk intact until the chunk after next is asked
    for, as `aligned_blocks` promises its own blocks."""


async def aligned_blocks(
    chunks: AsyncIterable[Chunk], block_size: int, *, max_size: int | None = None
) -> AsyncGenerator[memoryview, None]:
    """`regroup`'s blocks in page-aligned memory, as a direct (O_DIRECT) write needs it.

    A chunk that is a whole block of an `AlignedBuffer`, arriving where a block starts, is
    passed on as it is; other bytes are copied once, into one of two buffers used in turn.
    So a block is only good until the one after next is asked for: the caller must be done
    with it by then (a store writes block n and has hashed it by the time it asks for n + 2).
    `block_size` must be a multiple of the page size.
    """
    if block_size <= 0 or block_size % mmap.PAGESIZE:
        raise ValueError("block_size must be a positive multiple of the page size")
    buffers = (mmap.mmap(-1, block_size), mmap.mmap(-1, block_size))
    turn = filled = total = 0
    async for chunk in chunks:
        total += len(chunk)
        if max_size is not None and total > max_size:
            raise SizeLimitExceeded(f"the data is larger than the limit of {max_size} bytes")
        if not filled and _whole_aligned_block(chunk, block_size):
            assert isinstance(chunk, memoryview)
            yield chunk
            continue
        rest = memoryview(chunk)
        while rest:
            taken = min(len(rest), block_size - filled)
            buffers[turn][filled : filled + taken] = rest[:taken]
            filled += taken
            rest = rest[taken:]
            if filled == block_size:
                yield memoryview(buffers[turn])
                turn, filled = 1 - turn, 0
    if filled:
        yield memoryview(buffers[turn])[:filled]


def _whole_aligned_block(chunk: Chunk, block_size: int) -> bool:
    return (
        isinstance(chunk, memoryview)
        and isinstance(chunk.obj, AlignedBuffer)
        and len(chunk) == block_size
        and chunk.contiguous
    )


def check_range(offset: int, length: int | None) -> None:
    """`ValueError` unless `offset` and `length` describe a possible byte range."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    if length is not None and length < 0:
        raise ValueError(f"length must not be negative, got {length}")
