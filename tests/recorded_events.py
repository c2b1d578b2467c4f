"""Events as the log would hold them, for tests of what reads the log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from catalog.events import EventMetadata, RecordedEvent
from catalog.identity import Actor

METADATA = EventMetadata(actor=Actor(user_id="u", project_id="p", roles=()), request_id="r")


def created_at(*positions: int) -> list[RecordedEvent]:
    """An image's creation at each of `positions`, each in a stream of its own."""
    return [
        RecordedEvent(
            position=position,
            commit_order=0,
            stream_id=uuid.uuid4(),
            version=1,
            event_id=uuid.uuid4(),
            event_type="image.created",
            schema_version=1,
            data={},
            metadata=METADATA,
            occurred_at=datetime.now(UTC),
        )
        for position in positions
    ]
