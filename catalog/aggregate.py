"""What every aggregate (an image, a task, a metadata definitions namespace) has: its stream,
the version it has reached, and the events it decided since it was loaded; rebuilt by applying
its events in order.

Pure: no I/O, no clock. A subclass's command methods check its invariants and `_record`
events; its state changes only in `apply`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Self

from catalog.events import DomainEvent, NewEvent


class EventSourced:
    def __init__(self, stream_id: uuid.UUID) -> None:
        self.id = stream_id
        self.version = 0
        """Events loaded plus events decided."""
        self.pending: list[NewEvent] = []
        """Events decided since it was loaded, not appended yet."""

    @classmethod
    def from_history(cls, stream_id: uuid.UUID, history: Iterable[NewEvent]) -> Self:
        aggregate = cls(stream_id)
        aggregate.replay(history)
        return aggregate

    def replay(self, history: Iterable[NewEvent]) -> None:
        """Apply the events that follow the version reached, oldest first."""
        for new in history:
            self.apply(new.event, new.occurred_at)
            self.version += 1

    @property
    def exists(self) -> bool:
        return self.version > 0

    def _record(self, event: DomainEvent, now: datetime) -> None:
        self.apply(event, now)
        self.version += 1
        self.pending.append(NewEvent(event=event, occurred_at=now))

    def apply(self, event: DomainEvent, at: datetime) -> None:
        """Change state by one event. Never raises for an event that is in the log."""
        raise NotImplementedError
