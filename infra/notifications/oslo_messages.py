"""The message oslo.messaging's notifier builds for a notification, as the outbox keeps it:
`message_id`, `publisher_id`, `event_type`, `priority`, `payload`, `timestamp`, and what Glance
leaves out in the place oslo keeps it, the `_context`: the actor (user, project, roles) and the
request id.

A message is written as JSON text, once: what an event's notifications share (the context,
the time, a payload several of them carry) is encoded once for all of them and the text put
together around it; it is the text `json.dumps` makes of the message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from catalog.events import RecordedEvent
from catalog.events.envelope import EventMetadata
from catalog.notifications import Notification

MESSAGE_IDS = uuid.UUID("6f1c1a52-3d7e-4c1b-9b0e-2f0f7f1d7a10")
"""Namespace of the name-based (v5) message ids: one per (event id, notification index)."""


def oslo_timestamp(at: datetime) -> str:
    """oslo.messaging's `timestamp`: `str()` of a naive UTC datetime, which always has its
    microseconds (`%Y-%m-%d %H:%M:%S.%f`)."""
    if at.year < 1000:  # `strftime` leaves such a year unpadded, `isoformat` pads it
        return at.strftime("%Y-%m-%d %H:%M:%S.%f")
    return at.isoformat(sep=" ", timespec="microseconds")[:26]  # as fast as isotime's


def oslo_context(metadata: EventMetadata) -> dict[str, Any]:
    """The request context as oslo.context serialises it (the fields that mean something here)."""
    actor = metadata.actor
    return {
        "request_id": metadata.request_id,
        "global_request_id": metadata.global_request_id,
        "user_id": actor.user_id,
        "project_id": actor.project_id,
        "user": actor.user_id,
        "tenant": actor.project_id,
        "roles": list(actor.roles),
        # What the actor holds; what it may do was the policy's to decide, at the request.
        "is_admin": "admin" in actor.roles,
        "user_identity": f"{actor.user_id or '-'} {actor.project_id or '-'} - - -",
    }


class OsloMessage(NamedTuple):
    message_id: uuid.UUID
    notification: Notification
    text: str
    """The message as JSON."""


def oslo_messages(
    recorded: RecordedEvent,
    notifications: Iterable[tuple[int, Notification]],
    publisher_id: str,
) -> list[OsloMessage]:
    """The messages of the notifications of `recorded` (each with its index among the event's
    notifications, which names its message id)."""
    timestamp = json.dumps(oslo_timestamp(recorded.occurred_at))
    context = json.dumps(oslo_context(recorded.metadata))
    publisher = json.dumps(publisher_id)
    payloads: dict[int, str] = {}  # by identity: several notifications may carry one payload
    messages = []
    for index, notification in notifications:
        message_id = uuid.uuid5(MESSAGE_IDS, f"{recorded.event_id}/{index}")
        payload = payloads.get(id(notification.payload))
        if payload is None:
            payload = payloads[id(notification.payload)] = json.dumps(notification.payload)
        text = (
            f'{{"message_id": "{message_id}", "publisher_id": {publisher},'
            f' "event_type": {json.dumps(notification.event_type)},'
            f' "priority": {json.dumps(notification.priority)}, "payload": {payload},'
            f' "timestamp": {timestamp}, "_context": {context}}}'
        )
        messages.append(OsloMessage(message_id, notification, text))
    return messages
