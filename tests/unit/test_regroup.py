"""Regrouping an upload's chunks into the blocks a store writes: every byte once, in order, in
blocks of exactly the block size but the last, and nothing past the size limit; the same in
page-aligned buffers used in turn, for direct writes."""

from __future__ import annotations

import asyncio
import mmap
from collections.abc import AsyncIterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stores.errors import SizeLimitExceeded
from stores.streaming import AlignedBuffer, aligned_blocks, regroup

BLOCK = 16
PAGE = mmap.PAGESIZE


async def _arriving(chunks: Sequence[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk


def blocks_of(chunks: list[bytes], *, max_size: int | None = None) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [block async for block in regroup(_arriving(chunks), BLOCK, max_size=max_size)]

    return asyncio.run(collect())


@given(st.lists(st.binary(max_size=3 * BLOCK + 5), max_size=12))
def test_blocks_hold_every_byte_in_order_each_of_the_block_size_but_the_last(
    chunks: list[bytes],
) -> None:
    blocks = blocks_of(chunks)

    assert b"".join(blocks) == b"".join(chunks)
    assert all(isinstance(block, bytes) for block in blocks)
    assert all(len(block) == BLOCK for block in blocks[:-1])
    assert all(0 < len(block) <= BLOCK for block in blocks[-1:])


def test_a_chunk_that_is_a_whole_block_is_passed_on_without_a_copy() -> None:
    chunk = bytes(range(BLOCK))

    assert blocks_of([chunk])[0] is chunk


def test_more_than_the_limit_is_refused_before_the_chunk_that_passes_it_is_kept() -> None:
    with pytest.raises(SizeLimitExceeded):
        blocks_of([b"a" * BLOCK, b"b" * 5], max_size=BLOCK + 4)
    assert blocks_of([b"a" * BLOCK, b"b" * 4], max_size=BLOCK + 4) == [b"a" * BLOCK, b"b" * 4]


def aligned_blocks_of(chunks: list[bytes], *, max_size: int | None = None) -> list[bytes]:
    """Each block as it was when given (its buffer is filled again two blocks later)."""

    async def collect() -> list[bytes]:
        blocks = aligned_blocks(_arriving(chunks), PAGE, max_size=max_size)
        return [bytes(block) async for block in blocks]

    return asyncio.run(collect())


@given(st.lists(st.binary(max_size=3 * PAGE + 5), max_size=8))
def test_aligned_blocks_are_the_blocks_regroup_makes(chunks: list[bytes]) -> None:
    async def regrouped() -> list[bytes]:
        return [block async for block in regroup(_arriving(chunks), PAGE)]

    assert aligned_blocks_of(chunks) == asyncio.run(regrouped())


def test_aligned_blocks_keep_to_the_limit_and_a_page_multiple() -> None:
    with pytest.raises(SizeLimitExceeded):
        aligned_blocks_of([b"a" * PAGE, b"b"], max_size=PAGE)
    with pytest.raises(ValueError, match="page size"):
        asyncio.run(anext(aligned_blocks(_arriving([b"x"]), PAGE + 1)))


def test_aligned_blocks_pass_whole_aligned_blocks_on_without_copying_them() -> None:
    received = AlignedBuffer(-1, PAGE)
    received[:] = b"r" * PAGE
    whole = memoryview(received)

    async def collect() -> list[memoryview]:
        chunks: list[bytes | memoryview] = [b"a" * PAGE, whole, b"b" * 3, whole, b"c"]
        return [block async for block in aligned_blocks(_arriving(chunks), PAGE)]

    blocks = asyncio.run(collect())
    assert blocks[1] is whole  # where a block starts: as it is
    assert blocks[2].obj is not received  # past a block's start: copied, as any bytes
    assert [len(block) for block in blocks] == [PAGE, PAGE, PAGE, 4]
