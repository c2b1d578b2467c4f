"""Domain events on Kafka as CloudEvents 1.0 (structured JSON), keyed by their stream (an
image's, a metadata definitions namespace's); the source names the kind of stream."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from catalog.events import EventMetadata, RecordedEvent, aggregate_of
from catalog.identity import Actor
from infra.db.log_export import ExportedEvent


def source_of(event_type: str) -> str:
    """`/catalog/images`, `/catalog/metadefs`: which kind of aggregate the event is of."""
    return f"/catalog/{aggregate_of(event_type)}"


def to_cloudevent(recorded: RecordedEvent) -> dict[str, Any]:
    actor = recorded.metadata.actor
    return {
        "specversion": "1.0",
        "id": str(recorded.event_id),
        "source": source_of(recorded.event_type),
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
        "globalrequestid": recorded.metadata.global_request_id,
        "actoruserid": actor.user_id,
        "actorprojectid": actor.project_id,
        "actorroles": ",".join(actor.roles),
        "data": recorded.data,
    }


def encode_exported(row: ExportedEvent) -> tuple[bytes, bytes]:
    """The same record as `encode_message`, from a row read for export: the event's data is
    spliced in as the JSON text the log holds, never decoded."""
    stream_id = str(row.stream_id)
    attributes = {
        "specversion": "1.0",
        "id": str(row.event_id),
        "source": source_of(row.event_type),
        "type": row.event_type,
        "subject": stream_id,
        "time": row.occurred_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "streamid": stream_id,
        "streamversion": row.version,
        "position": row.position,
        "schemaversion": row.schema_version,
        "requestid": row.request_id,
        "globalrequestid": row.global_request_id,
        "actoruserid": row.user_id,
        "actorprojectid": row.project_id,
        "actorroles": ",".join(json.loads(row.roles_json)) if row.roles_json else "",
    }
    head = json.dumps(attributes, separators=(",", ":"))
    return stream_id.encode(), f'{head[:-1]},"data":{row.data_json}}}'.encode()


def encode_message(recorded: RecordedEvent) -> tuple[bytes, bytes]:
    """(key, value) of the Kafka record for an event: same image, same partition, in order."""
    value = json.dumps(to_cloudevent(recorded), separators=(",", ":")).encode()
    return str(recorded.stream_id).encode(), value


def from_cloudevent(value: bytes) -> RecordedEvent:
    """The log's event back from its Kafka record (the reader's place is Kafka's, not the log's)."""
    cloudevent = json.loads(value)
    roles = cloudevent.get("actorroles") or ""
    return RecordedEvent(
        position=cloudevent["position"],
        commit_order=0,
        stream_id=uuid.UUID(cloudevent["streamid"]),
        version=cloudevent["streamversion"],
        event_id=uuid.UUID(cloudevent["id"]),
        event_type=cloudevent["type"],
        schema_version=cloudevent["schemaversion"],
        data=cloudevent["data"],
        metadata=EventMetadata(
            actor=Actor(
                user_id=cloudevent.get("actoruserid"),
                project_id=cloudevent.get("actorprojectid"),
                roles=tuple(role for role in roles.split(",") if role),
            ),
            request_id=cloudevent.get("requestid"),
            global_request_id=cloudevent.get("globalrequestid"),
        ),
        occurred_at=datetime.fromisoformat(cloudevent["time"].replace("Z", "+00:00")),
    )
