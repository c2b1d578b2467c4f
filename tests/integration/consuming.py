"""Running a consumer in a test until it has applied everything in the log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from infra.bootstrap import Container
from infra.consumers.registry import job_for
from infra.consumers.runner import apply_delivery
from infra.consumers.sources import LogTail

WAIT_ROUNDS = 200


async def consume_log(container: Container, name: str) -> int:
    """Feed consumer `name` from the log until nothing is left; returns the effects applied."""
    job = job_for(container, name)
    source = LogTail(container.log, job.consumer.name, batch_size=50, idle_seconds=0.01)
    applied = 0
    await source.start()
    try:
        while (delivery := await source.next()) is not None:
            applied += await container.database.write(apply_delivery, job.consumer, delivery)
            await source.delivered(delivery)
    finally:
        await source.stop()
    return applied


async def until(
    check: Callable[[], Awaitable[bool]], *, rounds: int = WAIT_ROUNDS, pause: float = 0.05
) -> None:
    """Wait, a bounded number of rounds, for an async condition to hold."""
    for _ in range(rounds):
        if await check():
            return
        await asyncio.sleep(pause)
    raise AssertionError("the condition did not hold in time")
