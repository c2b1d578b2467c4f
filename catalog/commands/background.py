"""Work a request starts and does not wait for (a copy-image import answers 202 at once).

The work is this process's: it stops with the process. `close` cancels what still runs and
waits for it, so the work records how it ended (a cancelled task fails, a cancelled copy
removes its bytes) while the database is still open; what a killed process could not record,
recovery does (`recover_tasks.py`, `recover_uploads.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class Background:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background_work_failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Once every piece of work running now (and any it starts) has ended."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def close(self) -> None:
        # Work spawned a moment ago may not have taken its first step: cancelled then, none of
        # its code would run, so it could not record how it ended. One turn of the loop starts
        # every piece spawned so far (their first steps are already queued, ahead of ours).
        await asyncio.sleep(0)
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
