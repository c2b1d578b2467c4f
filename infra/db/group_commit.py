"""Group commit: appends that arrive while one is being written are committed together.

With one writer at a time (SQLite), every append would otherwise pay its own fsync'd commit.
Requests queue here; one task at a time takes everything queued and writes it in a single
transaction. If that transaction fails as a whole, each request is retried in a transaction of
its own, so one bad request cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from catalog.errors import DatabaseUnavailable

Request = TypeVar("Request")
Result = TypeVar("Result")


class GroupCommit(Generic[Request, Result]):
    """Writes queued requests together; each caller gets its own result or exception."""

    def __init__(
        self,
        write_together: Callable[[Sequence[Request]], Awaitable[list[Result | Exception]]],
        write_alone: Callable[[Request], Awaitable[Result]],
    ) -> None:
        self._write_together = write_together
        self._write_alone = write_alone
        self._queue: list[tuple[Request, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            # A request whose caller gave up before it was written is dropped, not written.
            batch = [(r, f) for r, f in self._queue if not f.done()]
            self._queue = []
            if not batch:
                continue
            outcomes = await self._outcomes([r for r, _ in batch])
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _outcomes(self, requests: list[Request]) -> list[Result | Exception]:
        if len(requests) > 1:
            try:
                return await self._write_together(requests)
            except DatabaseUnavailable as e:
                return [e] * len(requests)  # no request of the batch can be written now
            except Exception:
                pass  # each request is tried alone below, and reports its own error
        outcomes: list[Result | Exception] = []
        for request in requests:
            try:
                outcomes.append(await self._write_alone(request))
            except Exception as e:
                outcomes.append(e)
        return outcomes
