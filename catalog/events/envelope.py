"""The envelope around an event: where it sits in the log, who caused it, and when."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from catalog.events.base import DomainEvent
from catalog.identity import Actor


class EventMetadata(BaseModel):
    """Who caused an event and through which request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor = Field(default_factory=Actor)
    request_id: str | None = None
    """This catalog's own id of the request (`x-openstack-request-id` of its response)."""
    global_request_id: str | None = Field(default=None, exclude_if=lambda value: value is None)
    """The caller's id for a chain of requests across services (an inbound
    `X-OpenStack-Request-ID`), when it had one. Left out of stored rows when absent, so rows
    written before it existed and rows without one look alike."""


class NewEvent(BaseModel):
    """An event decided by the aggregate, not yet in the log."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    event: DomainEvent
    occurred_at: datetime
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)


class RecordedEvent(BaseModel):
    """An event as stored in the log.

    `position` is the global order of appends. Positions are taken from a sequence inside each
    append's transaction, so they can become visible out of order; readers follow
    `(commit_order, position)` instead (see `catalog.ports.LogCursor`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int
    commit_order: int
    stream_id: uuid.UUID
    version: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: EventMetadata
    occurred_at: datetime


class ReplayEvent(NamedTuple):
    """An event read back for a replay: where it sits and the decoded event, nothing else.

    A rebuild reads every event of the log; building the full `RecordedEvent` (parsing its
    metadata, validating its data twice) would cost more than all the rebuild's writes, hence
    this light tuple. A projection that needs more of the envelope adds it here and to the
    log's replay reader.
    """

    position: int
    commit_order: int
    stream_id: uuid.UUID
    version: int
    occurred_at: datetime
    event: DomainEvent
