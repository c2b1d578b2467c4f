"""Long work inside one unit of database work, giving the event loop its turns.

On PostgreSQL a unit of work runs on the event loop (SQLAlchemy's greenlet bridge, see
database.py): its statements wait asynchronously, but the Python between them holds the loop.
Work that is long by nature (a consumer catching up: folding histories, building messages)
would make everything else the process serves (the API, in `catalog serve`) wait for it.
`LoopTurns` lets such work hand the loop over between steps, once it has held it for a slice
of time: whatever became ready meanwhile runs, and while the process has live work running
(a request, an append: live_work.py) the work waits for it, then goes on, in the same
transaction. On SQLite the work runs in a thread of its own: there is no loop to hand over,
and it holds the database's only write lock, which live work may be waiting for.
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.util import await_only

from infra.live_work import LIVE_WORK

SLICE_SECONDS = 0.001
"""How long work holds the event loop at most between turns it gives (when its steps are
shorter than that): small beside a request's own time."""


class LoopTurns:
    """Call `step()` between the steps of long work on `conn`."""

    def __init__(self, conn: sa.Connection, slice_seconds: float = SLICE_SECONDS) -> None:
        self._on_loop = conn.dialect.is_async
        self._slice = slice_seconds
        self._since = time.perf_counter()

    def step(self) -> None:
        """Give the event loop a turn if the work held it for its slice (and live work the
        time it needs)."""
        if not self._on_loop:
            return
        now = time.perf_counter()
        if now - self._since >= self._slice:
            await_only(_turn())
            self._since = time.perf_counter()


async def _turn() -> None:
    await asyncio.sleep(0)
    await LIVE_WORK.give_way()
