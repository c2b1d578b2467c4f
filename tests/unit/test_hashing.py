"""The stream hasher: hashlib's digests, computed off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time

import pytest

from stores.hashing import Digests, StreamHasher

MiB = 1024 * 1024


def expected(*blocks: bytes) -> Digests:
    whole = b"".join(blocks)
    return Digests(
        size=len(whole),
        md5=hashlib.md5(whole).hexdigest(),
        sha512=hashlib.sha512(whole).hexdigest(),
    )


async def digest(*blocks: bytes) -> Digests:
    hasher = StreamHasher()
    for block in blocks:
        await hasher.update(block)
    return await hasher.digests()


@pytest.mark.parametrize(
    "sizes",
    [
        [],
        [0],
        [1],
        [10, 0, 20],
        [4 * MiB],
        [4 * MiB, 4 * MiB, 123],
        [100, 4 * MiB, 65_535, 65_536, 3 * MiB + 7],
    ],
)
async def test_digests_equal_hashlibs_over_the_whole_stream(sizes: list[int]) -> None:
    rng = random.Random(len(sizes))
    blocks = [rng.randbytes(size) for size in sizes]
    assert await digest(*blocks) == expected(*blocks)


async def test_digests_can_be_read_twice_and_after_more_data() -> None:
    hasher = StreamHasher()
    await hasher.update(b"a" * MiB)
    assert await hasher.digests() == expected(b"a" * MiB)
    assert await hasher.digests() == expected(b"a" * MiB)
    await hasher.update(b"b" * MiB)
    assert await hasher.digests() == expected(b"a" * MiB, b"b" * MiB)


async def test_the_event_loop_keeps_running_while_large_blocks_are_hashed() -> None:
    # Hashed on the loop, the ticker could only run between the blocks: a handful of ticks at
    # most. Hashed in a thread, it keeps ticking throughout. Counting ticks, not timing them,
    # keeps the test true on a busy machine.
    blocks = [bytes([n]) * (64 * MiB) for n in range(2)]
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        result = await digest(*blocks)
    finally:
        done.set()
        await ticking
    assert result == expected(*blocks)
    assert len(gaps) > 10


async def test_a_cancelled_update_adds_nothing_and_the_hasher_stays_usable() -> None:
    first, second = b"1" * (64 * MiB), b"2" * MiB
    hasher = StreamHasher()
    await hasher.update(first)
    # Still digesting `first`: this update waits for it, and is cancelled while waiting.
    waiting = asyncio.create_task(hasher.update(second))
    await asyncio.sleep(0)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert waiting.cancelled()
    await hasher.update(second)
    assert await hasher.digests() == expected(first, second)


async def test_digests_asked_for_are_taken_in_the_same_pass() -> None:
    blocks = [b"x" * 100, b"y" * (3 * MiB), b"z"]
    whole = b"".join(blocks)
    hasher = StreamHasher(also=["sha224", "sha512"])
    for block in blocks:
        await hasher.update(block)
    digests = await hasher.digests()
    assert digests.sha512 == hashlib.sha512(whole).hexdigest()
    assert digests.also == {
        "sha224": hashlib.sha224(whole).hexdigest(),
        "sha512": hashlib.sha512(whole).hexdigest(),
    }
