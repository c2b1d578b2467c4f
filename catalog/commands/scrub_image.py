"""The scrubber's work on one image: remove the data of a delayed delete once it is due.

Called by the scrubber consumer (and operators) for an image `pending_delete`; it decides from
the image's events whether there is anything to do, so calling it early, twice, or after a
restore is harmless. The steps, each recorded before the next:

1. `image.scrub_started`: from here on a restore is refused, so it can never race the removal;
2. per store: the bytes are removed (an object already absent counts as removed; bytes
   another image holds too stay for it), then `image.location_removed` is recorded. A
   process dying in between leaves the location recorded as still there: the next scrub
   removes an absent object, a no-op, and records it. A location recorded as removed is
   never touched again;
3. `image.scrubbed` once no location remains: the image is deleted for good.

A store that keeps failing (transient errors are tried again a few times, with jittered waits)
is recorded as `image.scrub_failed` and the scrub stops there; it is due again later.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.shared_data import release_data
from catalog.errors import CatalogError, NotFound, ServiceUnavailable
from catalog.events import EventMetadata
from catalog.identity import SCRUBBER_ACTOR
from catalog.image import DataLocation, Image, ImageStatus

log = structlog.get_logger(__name__)

LONGEST_WAIT = 30.0
"""Seconds, at most, between two attempts at one store."""


class ScrubImage(Command):
    image_id: uuid.UUID


class ScrubResult(StrEnum):
    SCRUBBED = "scrubbed"
    """Every byte is gone; the image is deleted."""
    NOT_DUE = "not_due"
    """The image waits for its scrub time (or for the retry after a failure)."""
    FAILED = "failed"
    """A store kept failing; the image stays pending deletion."""
    NOTHING_TO_DO = "nothing_to_do"
    """Not pending deletion: restored, already scrubbed, deleted at once, or unknown."""


@dataclass(frozen=True)
class ScrubOutcome:
    result: ScrubResult
    due_at: datetime | None = None
    """When to scrub this image again (not due, failed); None: never."""
    detail: str = ""


def scrubber_metadata() -> EventMetadata:
    """Who the scrubber's events are recorded for: its own actor and a request id per scrub."""
    return EventMetadata(actor=SCRUBBER_ACTOR, request_id=f"req-scrub-{uuid.uuid4()}")


async def scrub_image(
    command: ScrubImage, context: CommandContext, metadata: EventMetadata
) -> ScrubOutcome:
    image_id = command.image_id
    now = context.clock.now()

    def start(image: Image) -> Image:
        due = image.scrub_due_at
        if due is not None and due <= now:
            image.start_scrub(now)  # nothing if a scrub already started it (then crashed)
        return image

    image = await context.images.change(image_id, metadata, start)
    due = image.scrub_due_at
    if due is None:
        return ScrubOutcome(ScrubResult.NOTHING_TO_DO, detail=f"status {image.status}")
    if due > now:
        return ScrubOutcome(ScrubResult.NOT_DUE, due)
    for location in list(image.locations):
        failure = await _remove(image_id, location, context)
        if failure is not None:
            return await _record_failure(image_id, location, failure, context, metadata)

        def record(current: Image, location: DataLocation = location) -> None:
            if current.status is ImageStatus.PENDING_DELETE:
                current.record_store_scrubbed(location, context.clock.now())

        await context.images.change(image_id, metadata, record)

    def finish(current: Image) -> None:
        if current.status is ImageStatus.PENDING_DELETE:
            current.finish_scrub(context.clock.now())

    await context.images.change(image_id, metadata, finish)
    log.info("image_scrubbed", image_id=str(image_id))
    return ScrubOutcome(ScrubResult.SCRUBBED)


@dataclass(frozen=True)
class _Failure:
    reason: str
    attempts: int


async def _remove(
    image_id: uuid.UUID, location: DataLocation, context: CommandContext
) -> _Failure | None:
    """Remove the bytes at `location` (unless another image holds them), trying transient
    errors again; None once they are gone or kept for that image."""
    deletion = context.deletion
    attempts = 0
    retrying = AsyncRetrying(
        stop=stop_after_attempt(deletion.store_attempts),
        wait=wait_random_exponential(multiplier=deletion.attempt_backoff, max=LONGEST_WAIT),
        retry=retry_if_exception_type(ServiceUnavailable),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                attempts = attempt.retry_state.attempt_number
                await _delete_bytes(image_id, location, context)
    except CatalogError as e:
        return _Failure(e.message, attempts)
    return None


async def _delete_bytes(
    image_id: uuid.UUID, location: DataLocation, context: CommandContext
) -> None:
    # Already gone: an earlier scrub removed it but died before recording so.
    with contextlib.suppress(NotFound):
        await release_data(context, image_id, location.url)


async def _record_failure(
    image_id: uuid.UUID,
    location: DataLocation,
    failure: _Failure,
    context: CommandContext,
    metadata: EventMetadata,
) -> ScrubOutcome:
    now = context.clock.now()
    retry_at = now + context.deletion.retry_delay

    def fail(current: Image) -> None:
        if current.status is ImageStatus.PENDING_DELETE:
            current.fail_scrub(
                location,
                reason=failure.reason,
                attempts=failure.attempts,
                retry_after=retry_at,
                now=now,
            )

    await context.images.change(image_id, metadata, fail)
    log.warning(
        "image_scrub_failed",
        image_id=str(image_id),
        store=location.store,
        attempts=failure.attempts,
        error=failure.reason,
        retry_at=retry_at.isoformat(),
    )
    return ScrubOutcome(ScrubResult.FAILED, retry_at, detail=failure.reason)
