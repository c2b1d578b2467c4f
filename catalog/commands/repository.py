"""Loading an aggregate from its events and saving what it decided: the load–decide–append loop.

One `Repository` per kind of aggregate (images, metadata definitions namespaces, tasks), each
given its aggregate's class and which event begins one. Everything else, the optimistic
append, the turns per stream within a process, the retries across processes and the
snapshots, is the same for all.

With snapshots, a load reads the stream's latest snapshot made by the running code and only
the events after it; a load that folded many events keeps a new one. So a command on an image
with a long history costs what it costs on a young one.

A stream of another kind (a client may name any id) holds no aggregate of this one: it loads
as one that does not exist, and creating one on it conflicts, as on any stream in use.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import structlog

from catalog.aggregate import EventSourced
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
from catalog.snapshots import Snapshot, Snapshots, fingerprint, restore, take
from catalog.task import Task

log = structlog.get_logger(__name__)

T = TypeVar("T")

A = TypeVar("A", bound=EventSourced)


@dataclass(frozen=True)
class Snapshotting:
    """How a repository uses snapshots (`catalog/snapshots.py`)."""

    store: Snapshots
    every: int = 100
    """A load that folds this many events past the latest snapshot takes a new one."""
    check: bool = False
    """Every load from a snapshot also folds the whole stream, and fails if the two differ:
    a check for trying a new release, at the cost of the snapshots' gain."""


class SnapshotMismatch(AssertionError):
    """A state loaded from a snapshot that is not the fold of the stream (a bug)."""


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


class Repository(Generic[A]):
    """Aggregates of one kind, as far as commands need them: loaded from the log (from their
    latest snapshot on, where there is one), saved by appending."""

    kind: type[A]
    creations: tuple[type[DomainEvent], ...]
    """The events that begin a stream of this kind."""
    noun: str
    """How a 409 names the aggregate ("Image")."""

    def __init__(
        self,
        log: EventLog,
        retry: ConflictRetry | None = None,
        snapshots: Snapshotting | None = None,
    ) -> None:
        self._log = log
        self._snapshots = snapshots
        self._retry = retry or ConflictRetry()
        self._writers = StreamLocks()

    async def load(self, stream_id: uuid.UUID) -> A:
        if self._snapshots is None:
            return await self._load_whole(stream_id)
        return await self._load_from_snapshot(stream_id, self._snapshots)

    async def _load_whole(self, stream_id: uuid.UUID) -> A:
        history = of_kind(await self._log.load_stream(stream_id), self.creations)
        return self.kind.from_history(stream_id, decoded(history))

    async def _load_from_snapshot(self, stream_id: uuid.UUID, snapshots: Snapshotting) -> A:
        """The latest snapshot and the events after it; a new snapshot once they are many."""
        kind = self.kind
        taken = await snapshots.store.latest(stream_id, kind.__name__, fingerprint(kind))
        if taken is None:
            history = of_kind(await self._log.load_stream(stream_id), self.creations)
            aggregate = kind.from_history(stream_id, decoded(history))
        else:
            history = await self._log.load_stream(stream_id, taken.version)
            aggregate = restore(kind, taken)
            aggregate.replay(decoded(history))
            if snapshots.check:
                await self._check(aggregate)
        if len(history) >= snapshots.every:
            latest = max(recorded.occurred_at for recorded in history)
            if taken is not None:
                latest = max(latest, taken.occurred_at)
            await self._keep(snapshots, take(aggregate, latest))
        return aggregate

    async def load_at(self, stream_id: uuid.UUID, at: datetime) -> A:
        """The aggregate as the longest prefix of its stream recorded at or before `at` left
        it (a prefix: servers whose clocks disagree a little never make up a state), from
        the latest snapshot whose events all happened by then."""
        snapshots, kind = self._snapshots, self.kind
        taken = None
        if snapshots is not None:
            made_by = fingerprint(kind)
            taken = await snapshots.store.latest(stream_id, kind.__name__, made_by, at_or_before=at)
        if taken is None:
            aggregate = kind(stream_id)
            history = of_kind(await self._log.load_stream(stream_id), self.creations)
        else:
            aggregate = restore(kind, taken)
            history = await self._log.load_stream(stream_id, taken.version)
        aggregate.replay(decoded(itertools.takewhile(lambda r: r.occurred_at <= at, history)))
        if taken is not None and snapshots is not None and snapshots.check:
            whole = of_kind(await self._log.load_stream(stream_id), self.creations)
            prefix = itertools.takewhile(lambda r: r.occurred_at <= at, whole)
            self._require_same(aggregate, kind.from_history(stream_id, decoded(prefix)))
        return aggregate

    async def _check(self, loaded: A) -> None:
        self._require_same(loaded, await self._load_whole(loaded.id))

    def _require_same(self, loaded: A, folded: A) -> None:
        at = datetime.now(UTC)
        if (loaded.version, take(loaded, at)) != (folded.version, take(folded, at)):
            raise SnapshotMismatch(f"{self.noun} {loaded.id}: its snapshot is not its fold")

    async def _keep(self, snapshots: Snapshotting, taken: Snapshot) -> None:
        # Derived data: a snapshot not kept costs the next load time, never its answer.
        try:
            await snapshots.store.save(taken)
        except Exception as e:
            log.warning("snapshot_not_kept", stream_id=str(taken.stream_id), error=repr(e))

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
                    f"{self.noun} {stream_id} is being changed by another request; try again."
                ) from e


class ImageRepository(Repository[Image]):
    """Images: loaded from the log, saved by appending."""

    kind = Image
    creations = IMAGE_CREATIONS
    noun = "Image"


class NamespaceRepository(Repository[Namespace]):
    """Metadata definitions namespaces: loaded from the log, saved by appending."""

    kind = Namespace
    creations = (MetadefNamespaceCreated,)
    noun = "Metadata definition namespace"


class TaskRepository(Repository[Task]):
    """Tasks: loaded from the log, saved by appending."""

    kind = Task
    creations = (TaskCreated,)
    noun = "Task"
