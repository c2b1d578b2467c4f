"""An image's history as the API shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from catalog.events import encode
from catalog.queries.image_history import HistoryEntry


def exact_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC to the microsecond, as recorded: usable as `?as_of=` to the event."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_json(entry: HistoryEntry) -> dict[str, Any]:
    recorded, metadata = entry.recorded, entry.recorded.metadata
    return {
        "position": recorded.position,
        "stream_id": str(recorded.stream_id),
        "version": recorded.version,
        "event_id": str(recorded.event_id),
        "type": recorded.event_type,
        "occurred_at": exact_timestamp(recorded.occurred_at),
        # As recorded: the token's domains, system scope and a service's roles when present.
        "actor": metadata.actor.model_dump(mode="json"),
        "request_id": metadata.request_id,
        "global_request_id": metadata.global_request_id,
        "change": encode(entry.event),
    }
