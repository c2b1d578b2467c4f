"""Loading an aggregate from its events and saving what it decided: the load–decide–append loop.

One `Repository` per kind of aggregate (images, metadata definitions namespaces, tasks), each
given how to fold a stream into its aggregate and which event begins one. Everything else, the
optimistic append, the turns per stream within a process and the retries across processes, is
the same for all.

A stream of another kind (a client may name any id) holds no aggregate of this one: it loads
as one that does not exist, and creating one on it conflicts, as on any stream in use.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from catalog.claims import Claim
from catalog.commands.conflict_retry import ConflictRetry
from catalog.commands.stream_locks import StreamLocks
from catalog.errors import ConcurrencyConflict, Conflict
from catalog.events import (
    DomainEvent,
    EventMetadata,
    ImageCreated,
    ImageMigrated,
    NewEvent,
    RecordedEvent,
    TaskCreated,
    decode,
)
from catalog.events.metadefs import MetadefNamespaceCreated
from catalog.image import Image
from catalog.metadefs.namespace import Namespace
from catalog.ports import EventLog
from catalog.task import Task

T = TypeVar("T")


class Aggregate(Protocol):
    """What a repository needs of an aggregate: its stream, the version it has reached (events
    loaded plus events decided), and the events it decided since it was loaded."""

    @property
    def id(self) -> uuid.UUID: ...

    version: int
    pending: list[NewEvent]


A = TypeVar("A", bound=Aggregate)

Fold = Callable[[uuid.UUID, Iterable[NewEvent]], A]
"""Builds an aggregate from its stream id and its events, oldest first (`Image.from_history`)."""


def decoded(history: Iterable[RecordedEvent]) -> Iterable[NewEvent]:
    """Recorded events as the domain folds them (upcast to their current schema)."""
    return (
        NewEvent(
            event=decode(r.event_type, r.schema_version, r.data),
            occurred_at=r.occurred_at,
            event_id=r.event_id,
        )
        for r in history
    )


def of_kind(
    history: list[RecordedEvent], creations: tuple[type[DomainEvent], ...]
) -> list[RecordedEvent]:
    """`history` if it is the stream of an aggregate that one of `creations` begins, else
    nothing."""
    kinds = {creation.event_type for creation in creations}
    return history if history and history[0].event_type in kinds else []


IMAGE_CREATIONS: tuple[type[DomainEvent], ...] = (ImageCreated, ImageMigrated)
"""What an image's stream begins with: its creation here, or its migration from Glance."""


def rebuild(image_id: uuid.UUID, history: list[RecordedEvent]) -> Image:
    """The image as its recorded events left it (one that does not exist if they are not an
    image's)."""
    return Image.from_history(image_id, decoded(of_kind(history, IMAGE_CREATIONS)))


class Repository(Generic[A]):
    """Aggregates of one kind, as far as commands need them: loaded from the log, saved by
    appending."""

    def __init__(
        self,
        log: EventLog,
        fold: Fold[A],
        *,
        creations: tuple[type[DomainEvent], ...],
        noun: str,
        retry: ConflictRetry | None = None,
    ) -> None:
        self._log = log
        self._fold = fold
        self._creations = creations
        """The events that begin a stream of this kind."""
        self._noun = noun
        """How a 409 names the aggregate ("Image")."""
        self._retry = retry or ConflictRetry()
        self._writers = StreamLocks()

    async def load(self, stream_id: uuid.UUID) -> A:
        history = of_kind(await self._log.load_stream(stream_id), self._creations)
        return self._fold(stream_id, decoded(history))

    async def save(
        self, aggregate: A, metadata: EventMetadata, claim: Claim | None = None
    ) -> list[RecordedEvent]:
        """Append what the aggregate decided since it was loaded (optimistically), with the
        `claim` the decision makes, if any (a quota's, a name's)."""
        if not aggregate.pending:
            return []
        expected = aggregate.version - len(aggregate.pending)
        recorded = await self._log.append(
            aggregate.id, expected, aggregate.pending, metadata, claim
        )
        aggregate.pending = []
        return recorded

    async def record_fact(
        self, stream_id: uuid.UUID, event: DomainEvent, metadata: EventMetadata, now: datetime
    ) -> None:
        """Start a new stream with one event that changes no aggregate (a download)."""
        await self._log.append(stream_id, 0, [NewEvent(event=event, occurred_at=now)], metadata)

    async def change(
        self,
        stream_id: uuid.UUID,
        metadata: EventMetadata,
        decide: Callable[[A], T],
        claim: Callable[[A], Claim | None] | None = None,
    ) -> T:
        """Load the aggregate, let `decide` act on it, append; on a concurrent write, do it again.

        Changes to one stream take turns within this process, so they never conflict with each
        other; a conflict comes from another process, and the aggregate is loaded and decided on
        again (see `ConflictRetry`) until the retry budget is spent: then the caller gets a
        409. `decide` must be free of side effects other than on the aggregate, since it may
        run more than once.
        """

        async def attempt() -> T:
            aggregate = await self.load(stream_id)
            outcome = decide(aggregate)
            await self.save(aggregate, metadata, claim(aggregate) if claim else None)
            return outcome

        async with self._writers.turn(stream_id):
            try:
                return await self._retry.run(attempt)
            except ConcurrencyConflict as e:
                raise Conflict(
                    f"{self._noun} {stream_id} is being changed by another request; try again."
                ) from e


class ImageRepository(Repository[Image]):
    """Images: loaded from the log, saved by appending."""

    def __init__(self, log: EventLog, retry: ConflictRetry | None = None) -> None:
        super().__init__(
            log, Image.from_history, creations=IMAGE_CREATIONS, noun="Image", retry=retry
        )


class NamespaceRepository(Repository[Namespace]):
    """Metadata definitions namespaces: loaded from the log, saved by appending."""

    def __init__(self, log: EventLog, retry: ConflictRetry | None = None) -> None:
        super().__init__(
            log,
            Namespace.from_history,
            creations=(MetadefNamespaceCreated,),
            noun="Metadata definition namespace",
            retry=retry,
        )


class TaskRepository(Repository[Task]):
    """Tasks: loaded from the log, saved by appending."""

    def __init__(self, log: EventLog, retry: ConflictRetry | None = None) -> None:
        super().__init__(log, Task.from_history, creations=(TaskCreated,), noun="Task", retry=retry)
