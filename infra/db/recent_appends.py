"""The events this process appended last, handed to its own readers of a SQLite log.

Every tail of the log in the process (each consumer's) would otherwise read each new event back
from the database, once per tail, right after the append that wrote it. On SQLite one writer
appends at a time and a new event takes the position after the largest: the events appended
here at positions P+1 … P+k are exactly what the log holds there, once committed. A reader whose
place is P can take them from memory.

Whatever memory cannot vouch for sends the reader to the log: a place before the oldest event
kept, or at the newest (another process may have appended since: a command-line tool). Events
another process appended in between leave a gap in the positions; the window then starts again
after it. Not for PostgreSQL, whose positions commit out of order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from itertools import islice

from catalog.events import RecordedEvent

KEPT = 1_000
"""Events kept: enough for every tail that keeps up; one that fell further behind reads."""


class RecentAppends:
    def __init__(self, kept: int = KEPT) -> None:
        self._events: deque[RecordedEvent] = deque(maxlen=kept)

    def committed(self, events: Sequence[RecordedEvent]) -> None:
        """`events` were committed, in this order (call in commit order)."""
        for recorded in events:
            if self._events and recorded.position != self._events[-1].position + 1:
                self._events.clear()  # a gap: someone else's appends, only the log has them
            self._events.append(recorded)

    def after(self, position: int, limit: int) -> list[RecordedEvent] | None:
        """The next `limit` events at most after `position`, if memory holds the first of
        them; else None (read the log)."""
        if not self._events:
            return None
        first = self._events[0].position
        if not first <= position + 1 <= self._events[-1].position:
            return None
        start = position + 1 - first
        return list(islice(self._events, start, start + limit))
