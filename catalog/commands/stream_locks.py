"""Writers of one stream take turns within a process; writers of different streams never wait.

Two requests of one process changing the same image would otherwise load the same version and
race to append; one would always lose and decide again. Taking turns, they never conflict with
each other, and a conflict can only come from another process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Turns:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    """Tasks holding the lock or waiting for it."""


class StreamLocks:
    """One lock per stream, kept only while a task holds it or waits for it: a stream nobody
    is writing costs nothing, however many streams were written before."""

    def __init__(self) -> None:
        self._turns: dict[uuid.UUID, _Turns] = {}

    @asynccontextmanager
    async def turn(self, stream_id: uuid.UUID) -> AsyncIterator[None]:
        """Wait until no other task of this process writes `stream_id` (first come, first
        served), and hold the stream for the block."""
        turns = self._turns.get(stream_id)
        if turns is None:
            turns = self._turns[stream_id] = _Turns()
        turns.users += 1
        try:
            async with turns.lock:
                yield
        finally:
            # Also when cancelled while waiting: the waiter counts no more.
            turns.users -= 1
            if not turns.users:
                del self._turns[stream_id]

    def __len__(self) -> int:
        """Streams held or waited for right now."""
        return len(self._turns)
