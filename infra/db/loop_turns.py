"""Long work inside one unit of database work, giving the event loop its turns.

On PostgreSQL a unit of work runs on the event loop (SQLAlchemy's greenlet bridge, see
database.py): its statements wait asynchronously, but the Python between them holds the loop.
Work that is long by nature (a consumer catching up: folding histories, building messages)
would make everything else the process serves (the API, in `catalog serve`) wait for it.
`LoopTurns` lets such work hand the loop over between steps, once it has held it for a slice
of time: whatever became ready meanwhile runs, then the work goes on, in the same transaction.
Work nobody waits for (a consumer catching up, not one following the log's head, nor the
effects done inside an append, which is live work itself) also gives way to the process's
live work at those turns (live_work.py): the runner says so for the unit it runs
(`LoopTurns.of` finds its turns). On SQLite the work runs in a thread of its own: there is no
loop to hand over, and it holds the database's only write lock, which live work may need.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.util import await_only

from infra.live_work import LIVE_WORK

SLICE_SECONDS = 0.001
"""How long work holds the event loop at most between turns it gives (when its steps are
shorter than that): small beside a request's own time."""

_UNITS_TURNS = "loop_turns"
"""Where a unit's turns are kept, in its connection's `info`, while the unit runs."""


class LoopTurns:
    """Call `step()` between the steps of long work on `conn`."""

    def __init__(
        self, conn: sa.Connection, slice_seconds: float = SLICE_SECONDS, *, give_way: bool = False
    ) -> None:
        self._on_loop = conn.dialect.is_async
        self._slice = slice_seconds
        self._give_way = give_way
        self._since = time.perf_counter()

    @staticmethod
    def of(conn: sa.Connection) -> LoopTurns:
        """The turns of the unit of work running on `conn` (`for_the_unit`), or new ones that
        only hand the loop over."""
        turns = conn.info.get(_UNITS_TURNS)
        return turns if isinstance(turns, LoopTurns) else LoopTurns(conn)

    @contextmanager
    def for_the_unit(self, conn: sa.Connection) -> Iterator[LoopTurns]:
        """These turns for whatever runs inside on `conn` and asks for its unit's."""
        conn.info[_UNITS_TURNS] = self
        try:
            yield self
        finally:
            del conn.info[_UNITS_TURNS]

    def step(self) -> None:
        """Give the event loop a turn if the work held it for its slice (and, if this work
        gives way, the live work running the time it needs)."""
        if not self._on_loop:
            return
        now = time.perf_counter()
        if now - self._since >= self._slice:
            await_only(_giving_way() if self._give_way else asyncio.sleep(0))
            self._since = time.perf_counter()


async def _giving_way() -> None:
    await asyncio.sleep(0)
    await LIVE_WORK.give_way()
