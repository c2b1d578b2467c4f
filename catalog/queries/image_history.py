"""An image's history, read from the log: the one read that goes to the log by design.

Whether the caller may read it is decided on the image as its whole stream leaves it, so also
once it is deleted, by the `get_image_history` rule (admins and readers of the owner's project,
by default). Anyone else, like anyone asking for an image that never existed, finds nothing
(404). Who downloaded the data is for those the `get_image_downloads` rule allows (admins).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from catalog.errors import NotFound
from catalog.events import DomainEvent, RecordedEvent, decode
from catalog.identity import Actor
from catalog.policy import Policy, not_authorized
from catalog.ports import AuditLog

DOWNLOADS_ACTION = "get_image_downloads"


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded event, with its data as the current schema has it (upcast if older)."""

    recorded: RecordedEvent
    event: DomainEvent


@dataclass(frozen=True)
class HistoryQuery:
    after: int = 0
    """Only entries after this position in the log (the marker of a page)."""
    limit: int = 100
    downloads: bool = False
    """Also the downloads of the image's data (admins only: they name the readers)."""


@dataclass(frozen=True)
class HistoryPage:
    image_id: uuid.UUID
    entries: tuple[HistoryEntry, ...]
    next_after: int | None
    """The position to read the next page after, when there is more."""


def missing(image_id: uuid.UUID) -> NotFound:
    return NotFound(f"No image found with ID {image_id}")


async def image_history(
    log: AuditLog, image_id: uuid.UUID, actor: Actor, query: HistoryQuery, policy: Policy
) -> HistoryPage:
    """One page of the image's events, in log order, with its downloads if asked for; 404
    unless `actor` may audit the image as its whole stream leaves it.

    The image's own events and its downloads interleave by log position, which is also the
    order of the image's versions (each is appended after the one before has committed).
    """
    image = await log.image(image_id)
    if not image.exists or not policy.may_audit(actor, image):
        raise missing(image_id)
    candidates = await log.stream_page(image_id, query.after, query.limit + 1)
    if query.downloads:
        if not policy.allows(actor, DOWNLOADS_ACTION):
            raise not_authorized(DOWNLOADS_ACTION)
        candidates += await log.downloads_of(image_id, query.after, query.limit + 1)
        candidates.sort(key=lambda recorded: recorded.position)
    page = candidates[: query.limit]
    entries = tuple(HistoryEntry(r, decode(r.event_type, r.schema_version, r.data)) for r in page)
    more = len(candidates) > query.limit
    return HistoryPage(image_id, entries, page[-1].position if more and page else None)
