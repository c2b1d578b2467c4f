"""A nudge from writers to readers in the same process: "there may be something new".

Readers that tail a table (the relay, consumers of the log) would otherwise only find a commit on
their next poll. A reader takes a ticket *before* it reads, and waits on that ticket when it
found nothing: a nudge given while it was reading is then not lost. Readers still poll, since
writers in other processes cannot nudge them.
"""

from __future__ import annotations

import asyncio
import contextlib


class Wakeup:
    def __init__(self) -> None:
        self._current = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        return self._current

    def notify(self) -> None:
        self._current.set()
        self._current = asyncio.Event()

    @staticmethod
    async def wait(ticket: asyncio.Event | None, seconds: float) -> None:
        """Until the ticket is nudged, or `seconds` have passed."""
        if ticket is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await ticket.wait()
