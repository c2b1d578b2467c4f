"""When a tail of the log reads again: at once after a read that may have left something to
find, only at this process's next append after one that caught up (logic only: the flag itself
is tested against PostgreSQL in tests/integration/test_log_reader_never_skips.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

from catalog.ports import LogCursor
from infra.consumers.sources import LogTail
from infra.db.event_log import SqlEventLog, TailRead
from infra.wakeup import Wakeup
from tests.recorded_events import created_at

AN_HOUR = 3600.0


class CountedLog:
    """Answers every read with one new event, caught up or not as told."""

    def __init__(self, *, caught_up: bool) -> None:
        self.database = SimpleNamespace(postgres=True)
        self.appended = Wakeup()
        self.reads = 0
        self._caught_up = caught_up

    async def read_tail(self, after: LogCursor, limit: int) -> TailRead:
        self.reads += 1
        return TailRead(created_at(after.position + 1), self._caught_up)


async def next_read_started(log: CountedLog) -> bool:
    """Whether, after a first delivery, the tail reads again before any append here."""
    tail = LogTail(cast(SqlEventLog, log), "c", batch_size=10, idle_seconds=AN_HOUR)
    delivery = await tail.next()
    assert delivery is not None
    await tail.delivered(delivery)
    second = asyncio.ensure_future(tail.next())
    for _ in range(20):
        await asyncio.sleep(0)
    started = log.reads == 2
    log.appended.notify()
    assert await asyncio.wait_for(second, AN_HOUR) is not None
    assert log.reads == 2
    return started


async def test_after_a_read_that_caught_up_the_tail_waits_for_an_append_here() -> None:
    assert not await next_read_started(CountedLog(caught_up=True))


async def test_after_a_read_that_did_not_catch_up_the_tail_reads_again_at_once() -> None:
    assert await next_read_started(CountedLog(caught_up=False))
