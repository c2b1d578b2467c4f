"""Loading an image from its events and saving what it decided: the load–decide–append loop."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from catalog.commands.conflict_retry import ConflictRetry
from catalog.commands.stream_locks import StreamLocks
from catalog.errors import ConcurrencyConflict, Conflict
from catalog.events import DomainEvent, EventMetadata, NewEvent, RecordedEvent, decode
from catalog.image import Image
from catalog.ports import EventLog
from catalog.quotas import QuotaClaim

T = TypeVar("T")


def rebuild(image_id: uuid.UUID, history: list[RecordedEvent]) -> Image:
    """The aggregate as its recorded events left it."""
    return Image.from_history(
        image_id,
        (
            NewEvent(
                event=decode(r.event_type, r.schema_version, r.data),
                occurred_at=r.occurred_at,
                event_id=r.event_id,
            )
            for r in history
        ),
    )


class ImageRepository:
    """Images, as far as commands need them: loaded from the log, saved by appending."""

    def __init__(self, log: EventLog, retry: ConflictRetry | None = None) -> None:
        self._log = log
        self._retry = retry or ConflictRetry()
        self._writers = StreamLocks()

    async def load(self, image_id: uuid.UUID) -> Image:
        return rebuild(image_id, await self._log.load_stream(image_id))

    async def save(
        self, image: Image, metadata: EventMetadata, claim: QuotaClaim | None = None
    ) -> list[RecordedEvent]:
        """Append what the image decided since it was loaded (optimistically), with the
        quota `claim` the decision makes, if any."""
        if not image.pending:
            return []
        expected = image.version - len(image.pending)
        recorded = await self._log.append(image.id, expected, image.pending, metadata, claim)
        image.pending = []
        return recorded

    async def record_fact(
        self, stream_id: uuid.UUID, event: DomainEvent, metadata: EventMetadata, now: datetime
    ) -> None:
        """Start a new stream with one event about an image that changes no image."""
        await self._log.append(stream_id, 0, [NewEvent(event=event, occurred_at=now)], metadata)

    async def change(
        self,
        image_id: uuid.UUID,
        metadata: EventMetadata,
        decide: Callable[[Image], T],
        claim: Callable[[Image], QuotaClaim | None] | None = None,
    ) -> T:
        """Load the image, let `decide` act on it, append; on a concurrent write, do it again.

        Changes to one image take turns within this process, so they never conflict with each
        other; a conflict comes from another process, and the image is loaded and decided on
        again (see `ConflictRetry`) until the retry budget is spent: then the caller gets a
        409. `decide` must be free of side effects other than on the image, since it may run
        more than once.
        """

        async def attempt() -> T:
            image = await self.load(image_id)
            outcome = decide(image)
            await self.save(image, metadata, claim(image) if claim else None)
            return outcome

        async with self._writers.turn(image_id):
            try:
                return await self._retry.run(attempt)
            except ConcurrencyConflict as e:
                raise Conflict(
                    f"Image {image_id} is being changed by another request; try again."
                ) from e
