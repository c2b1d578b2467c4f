"""Domain events on Kafka as CloudEvents 1.0 (structured JSON), keyed by image id."""

from __future__ import annotations

import json
from typing import Any

from catalog.events import RecordedEvent

SOURCE = "/catalog/images"


def to_cloudevent(recorded: RecordedEvent) -> dict[str, Any]:
    actor = recorded.metadata.actor
    return {
        "specversion": "1.0",
        "id": str(recorded.event_id),
        "source": SOURCE,
        "type": recorded.event_type,
        "subject": str(recorded.stream_id),
        "time": recorded.occurred_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        # Extension attributes (lowercase alphanumerics, scalar values, per the spec).
        "streamid": str(recorded.stream_id),
        "streamversion": recorded.version,
        "position": recorded.position,
        "schemaversion": recorded.schema_version,
        "requestid": recorded.metadata.request_id,
        "actoruserid": actor.user_id,
        "actorprojectid": actor.project_id,
        "actorroles": ",".join(actor.roles),
        "data": recorded.data,
    }


def encode_message(recorded: RecordedEvent) -> tuple[bytes, bytes]:
    """(key, value) of the Kafka record for an event: same image, same partition, in order."""
    value = json.dumps(to_cloudevent(recorded), separators=(",", ":")).encode()
    return str(recorded.stream_id).encode(), value
