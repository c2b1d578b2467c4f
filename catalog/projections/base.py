"""What a projection is: a named view fed with events."""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa

from catalog.events import DomainEvent, RecordedEvent


class Projection(Protocol):
    """A view built only from events.

    `apply` must be idempotent per (stream, version): replaying an event already applied changes
    nothing. It runs inside the transaction that appends the event (inline) or that advances the
    projection's checkpoint (rebuild), never on its own.
    """

    name: str
    tables: tuple[sa.Table, ...]

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None: ...
