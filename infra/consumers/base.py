"""What a consumer is, and where its events come from.

A consumer applies events to state of its own (an outbox, a schedule) in a database
transaction. The runner (runner.py) puts three things in that one transaction: the effect, the
(stream, version) it applied, and the consumer's place in its source. So a crash at any point
either keeps all three or none, and an event delivered twice is recognised and skipped.

A consumer able to apply events without reading the log (the notifications consumer: an
image's first event needs no history) may also do it in the appending transaction, as the
views are projected (inline.py); its source then delivers those events again, to be passed by.

Events come from one of two sources behind one interface (sources.py): a Kafka consumer group
on `catalog.events` where the catalog runs with Kafka, or a tail of the log itself in the
embedded catalog. A consumer cannot tell which one feeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa

from catalog.events import DomainEvent, RecordedEvent


class Consumer(Protocol):
    name: str
    """Stable: it names the consumer's checkpoint, its Kafka group and what it applied."""

    event_types: frozenset[str] | None
    """The event types it acts on (None: all). The others pass it by: not decoded, not
    recorded as applied, so its records of what it applied only grow with what it uses."""

    def apply(
        self, conn: sa.Connection, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> None:
        """Do these events' effects on `conn`, the transaction that records them as applied.

        Each (stream, version) comes once, in order within its stream; events it has no use
        for it simply ignores. Raising rolls the whole batch back, to be delivered again.
        """
        ...


@runtime_checkable
class InlineConsumer(Consumer, Protocol):
    """A consumer whose effects may also be done in the transaction that appends the events,
    where the consumer is up to date with their stream (infra/consumers/inline.py)."""

    def applies_inline(self, recorded: RecordedEvent) -> bool:
        """Whether it can apply `recorded` now without reading the log (its stream's earlier
        events already known to it); if not, the event waits for its source, as others do."""
        ...

    def apply_inline(
        self, conn: sa.Connection, events: Sequence[tuple[RecordedEvent, DomainEvent]]
    ) -> None:
        """`apply`, in the transaction that appends `events`, which may yet fail: what the
        consumer keeps of them in memory waits for `committed_inline`."""
        ...

    def committed_inline(self, recorded: Sequence[RecordedEvent]) -> None:
        """The append of `recorded`, which `apply_inline` applied, committed."""
        ...


@dataclass(frozen=True)
class Delivery:
    """Events to apply together, and how to record the source's place after them (and after
    every delivery the source made before: the latest place stands for all of them)."""

    events: Sequence[RecordedEvent]
    record_place: Callable[[sa.Connection], None]


class EventSource(Protocol):
    async def start(self) -> None: ...

    async def next(self) -> Delivery | None:
        """The next events, waiting a little for some; None when none came meanwhile."""
        ...

    async def delivered(self, delivery: Delivery) -> None:
        """`delivery` and its place are committed: move on past it."""
        ...

    async def stop(self) -> None: ...


@dataclass
class ConsumerJob:
    """A consumer, and the tasks that act on what it records (publishing, scheduling)."""

    consumer: Consumer
    after_commit: Callable[[], None] | None = None
    companions: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
