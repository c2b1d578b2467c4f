"""Which of the events a tail reads were appended by this process (PostgreSQL).

Each append of this process nudges its tails (`SqlEventLog.appended`); another process's append
nudges nobody here, and a tail finds it only by looking again. So a tail that read to the end of
the log may wait for the next nudge only while the events it finds are its own process's: once
another process is appending, it keeps looking on its own schedule.

Positions are kept for the events appended last only: a tail that keeps up reads its process's
events soon after their append. An event older than that counts as another process's, which
costs at most a few early looks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from catalog.events import RecordedEvent

KEPT = 10_000
"""Positions remembered: far more than the events a tail that keeps up has yet to read."""


class OwnAppends:
    def __init__(self, kept: int = KEPT) -> None:
        self._order: deque[int] = deque()
        self._positions: set[int] = set()
        self._kept = kept

    def committed(self, events: Iterable[RecordedEvent]) -> None:
        """`events` were appended by this process and committed."""
        for recorded in events:
            self._order.append(recorded.position)
            self._positions.add(recorded.position)
        while len(self._order) > self._kept:
            self._positions.discard(self._order.popleft())

    def hold_all(self, positions: Iterable[int]) -> bool:
        """Whether the events at every one of `positions` were appended by this process (as
        far as is kept)."""
        return all(position in self._positions for position in positions)
