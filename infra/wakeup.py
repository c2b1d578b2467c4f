"""A nudge from writers to readers in the same process: "there may be something new".

Readers that tail a table (the relay, consumers of the log) would otherwise only find a commit on
their next poll. A reader takes a ticket *before* it reads, and waits on that ticket when it
found nothing: a nudge given while it was reading is then not lost. Readers still poll, since
writers in other processes cannot nudge them.
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio import FIRST_COMPLETED
from typing import Any


class Wakeup:
    def __init__(self) -> None:
        self._current = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        return self._current

    def notify(self) -> None:
        self._current.set()
        self._current = asyncio.Event()

    @staticmethod
    async def wait(
        ticket: asyncio.Event | None, seconds: float, *, or_until: asyncio.Future[Any] | None = None
    ) -> bool:
        """Until the ticket is nudged (True), or `seconds` have passed, or `or_until` is done
        (False)."""
        if ticket is None:
            await asyncio.sleep(seconds)
            return False
        if or_until is None:  # the usual wait, without a task of its own
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await ticket.wait()
            return ticket.is_set()
        nudged = asyncio.ensure_future(ticket.wait())
        try:
            await asyncio.wait((nudged, or_until), timeout=seconds, return_when=FIRST_COMPLETED)
        finally:
            nudged.cancel()
        return ticket.is_set()


class Pause:
    """How long a reader that found nothing waits before it looks again.

    Briefly at first, then longer and longer up to `idle` while nothing comes. The brief waits
    matter on PostgreSQL: a commit stays invisible to a reader that never skips while an older
    transaction is still running, and nobody nudges the reader when that one ends.
    """

    FIRST = 0.001

    def __init__(self, idle: float, *, brief_looks: bool = True) -> None:
        self.idle = idle
        self.seconds = idle
        self._brief_looks = brief_looks
        """False where every commit is visible once made and nudges its readers (SQLite, one
        process): a reader then waits for the nudge, or the idle pause, at once."""
        self._caught_up: asyncio.Event | None = None
        """The ticket taken before the last read, when that read caught up."""

    def reset(self) -> None:
        """Something was found: look again soon if the next look finds nothing."""
        if self._brief_looks:
            self.seconds = self.FIRST

    async def wait(self, ticket: asyncio.Event | None) -> None:
        if await Wakeup.wait(ticket, self.seconds):
            self.reset()  # a writer here committed: it may take a moment to become visible
        else:
            self.seconds = min(self.seconds * 2, self.idle)

    def caught_up(self, ticket: asyncio.Event | None) -> None:
        """The read made after taking `ticket` found everything there was, and nothing but
        what writers here wrote: the next `wait_if_caught_up` with that ticket waits."""
        self._caught_up = ticket

    async def wait_if_caught_up(
        self, ticket: asyncio.Event | None, *, or_until: asyncio.Future[Any] | None = None
    ) -> bool:
        """If the last read caught up and nothing was written here since (`ticket` is still
        the one taken before it), wait for a nudge or the idle pause, and say so; else return
        at once, for the reader to read.

        `or_until`: something else the reader must see to as soon as it is done (the relay:
        its oldest batch acknowledged). Should it end the wait, the reader is still caught up:
        its next call with the same ticket waits again."""
        if ticket is None or ticket is not self._caught_up:
            return False
        nudged = await Wakeup.wait(ticket, self.idle, or_until=or_until)
        if not nudged and or_until is not None and or_until.done():
            return True  # still caught up: `_caught_up` stays this ticket
        # No brief looks: nothing can be hidden, and writers here would have nudged.
        self._caught_up = None
        if nudged:
            self.reset()
        else:
            self.seconds = self.idle
        return True
