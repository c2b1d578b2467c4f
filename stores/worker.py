"""A private worker thread that runs blocking calls one at a time, in the order given."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class SerialWorker:
    """Runs blocking calls (file I/O) off the event loop, strictly one after another.

    The order is what makes cleanup safe: a thread cannot be interrupted, so when a caller is
    cancelled while a `write` is running, the `close` and `unlink` it submits next still run only
    after that write has finished – never against a closed or reused descriptor.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-io")

    async def run(self, call: Callable[..., T], *args: object) -> T:
        """Run `call(*args)` in the worker thread and return its result.

        Once submitted the call always runs to its end: cancelling the caller only stops the
        waiting, so the worker's sequence of calls stays the one the caller wrote.
        """
        future = asyncio.wrap_future(self._executor.submit(call, *args))
        return await asyncio.shield(future)

    def submit(self, call: Callable[..., T], *args: object) -> Future[T]:
        """Queue `call(*args)` after the calls already given, without waiting for it."""
        return self._executor.submit(call, *args)

    def close(self) -> None:
        """Let the queued calls finish, then end the thread; nothing is accepted afterwards."""
        self._executor.shutdown(wait=False)
