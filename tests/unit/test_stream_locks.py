"""Writers of one stream take turns in a process; other streams never wait; idle locks go."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from catalog.commands.stream_locks import StreamLocks

IMAGE, OTHER = uuid.uuid4(), uuid.uuid4()


async def test_writers_of_one_stream_take_turns_in_arrival_order() -> None:
    locks, steps = StreamLocks(), []

    async def write(n: int) -> None:
        async with locks.turn(IMAGE):
            steps.append(f"load {n}")
            await asyncio.sleep(0)  # where an unlocked writer would let another one load
            steps.append(f"append {n}")

    await asyncio.gather(*(write(n) for n in range(3)))
    assert steps == ["load 0", "append 0", "load 1", "append 1", "load 2", "append 2"]


async def test_a_writer_of_another_stream_does_not_wait() -> None:
    locks, release = StreamLocks(), asyncio.Event()

    async def hold() -> None:
        async with locks.turn(IMAGE):
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    async with asyncio.timeout(60), locks.turn(OTHER):
        assert len(locks) == 2
    release.set()
    await holder


async def test_a_stream_nobody_writes_holds_no_lock() -> None:
    locks, release = StreamLocks(), asyncio.Event()

    async def hold() -> None:
        async with locks.turn(IMAGE):
            await release.wait()

    async def wait_turn() -> None:
        async with locks.turn(IMAGE):
            pass

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(wait_turn())
    await asyncio.sleep(0)
    waiter.cancel()  # a writer that gave up while waiting
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    assert len(locks) == 1
    release.set()
    await holder
    assert len(locks) == 0
    for stream in (uuid.uuid4() for _ in range(100)):
        async with locks.turn(stream):
            pass
    assert len(locks) == 0
