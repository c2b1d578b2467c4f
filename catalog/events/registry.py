"""The event type registry: stable type strings to event classes, and back."""

from __future__ import annotations

import json
from typing import Any

from catalog.events.base import DomainEvent
from catalog.events.image import IMAGE_EVENTS
from catalog.events.metadefs import METADEF_EVENTS
from catalog.events.task import TASK_EVENTS
from catalog.events.upcasters import upcast

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.event_type: cls for cls in (*IMAGE_EVENTS, *METADEF_EVENTS, *TASK_EVENTS)
}


def encode(event: DomainEvent) -> dict[str, Any]:
    """The JSON-ready data of an event, as stored in the log."""
    return event.model_dump(mode="json")


def decode(event_type: str, schema_version: int, data: dict[str, Any]) -> DomainEvent:
    """Rebuild a domain event from the log, upcasting older schema versions first."""
    cls = _event_class(event_type)
    if schema_version != cls.schema_version:
        data = upcast(event_type, schema_version, data, cls.schema_version)
    return cls.model_validate(data)


def decode_json(event_type: str, schema_version: int, data: str | bytes) -> DomainEvent:
    """`decode` from the stored JSON text: events of the current schema are parsed and
    validated in one pass; older ones are parsed, upcast, then validated."""
    cls = _event_class(event_type)
    if schema_version == cls.schema_version:
        return cls.model_validate_json(data)
    return decode(event_type, schema_version, json.loads(data))


def aggregate_of(event_type: str) -> str:
    """The kind of aggregate whose streams hold events of this type ("images", ...)."""
    return _event_class(event_type).aggregate


def _event_class(event_type: str) -> type[DomainEvent]:
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise LookupError(f"unknown event type {event_type!r}")
    return cls
