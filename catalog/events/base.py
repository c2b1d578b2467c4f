"""The base of every domain event."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    """Something that happened to an aggregate of the catalog (an image, ...), in the past tense.

    `event_type` is the stable name stored in the log and sent on the wire; it never names a
    Python import path. `schema_version` rises whenever the data's shape changes, and an upcaster
    in `catalog.events.upcasters` lifts older stored data to the current shape.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    aggregate: ClassVar[str]
    """The kind of aggregate whose streams hold the event ("images", "metadefs"): which fold
    reads it, and where its CloudEvents say it comes from."""
