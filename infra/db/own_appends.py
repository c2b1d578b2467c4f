"""Which of the rows a tail reads were written by this process (PostgreSQL).

Each write of this process nudges the tails of its table (the log's appends nudge
`SqlEventLog.appended`; the notifications outbox's writers nudge its relays); another process's
write nudges nobody here, and a tail finds it only by looking again. So a tail that read to the
end of its table may wait for the next nudge only while the rows it finds are its own process's:
once another process is writing, it keeps looking on its own schedule.

Rows are known by a key of their own (the log's: its position; the outbox's: its message id),
kept for the rows written last only: a tail that keeps up reads its process's rows soon after
they were written. A row older than that counts as another process's, which costs at most a few
early looks. A key noted for a write that did not commit costs nothing: no row bears it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

KEPT = 10_000
"""Keys remembered: far more than the rows a tail that keeps up has yet to read."""

Key = TypeVar("Key", bound=Hashable)


class OwnAppends(Generic[Key]):
    def __init__(self, kept: int = KEPT) -> None:
        self._order: deque[Key] = deque()
        self._keys: set[Key] = set()
        self._kept = kept

    def written(self, keys: Iterable[Key]) -> None:
        """The rows with `keys` were written by this process (committed, or in a transaction
        that is about to commit and then nudges)."""
        for key in keys:
            self._order.append(key)
            self._keys.add(key)
        while len(self._order) > self._kept:
            self._keys.discard(self._order.popleft())

    def hold_all(self, keys: Iterable[Key]) -> bool:
        """Whether every one of the rows with `keys` was written by this process (as far as
        is kept)."""
        return all(key in self._keys for key in keys)

    def caught_up(self, keys: Sequence[Key], limit: int, *, all_seen: bool) -> bool:
        """Whether a tail that read the rows with `keys` (at most `limit`), its read saying
        whether it saw every commit (`PG_ALL_SEEN` in infra/db/event_log.py), may wait for
        the next nudge before it looks again: it reached the end of the table, nothing could
        still commit before that end, and only this process, whose writes nudge, wrote what
        it found."""
        return 0 < len(keys) < limit and all_seen and self.hold_all(keys)
