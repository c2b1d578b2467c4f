"""The message oslo.messaging's notifier builds for a notification, as the outbox keeps it:
`message_id`, `publisher_id`, `event_type`, `priority`, `payload`, `timestamp`, and what Glance
leaves out in the place oslo keeps it, the `_context`: the actor (user, project, roles) and the
request id.

A message is written as JSON text, once: what an event's notifications share (the context,
the time, a payload several of them carry) is encoded once for all of them, the few texts every
message repeats (types, priorities, the publisher) once for the process, and the text put
together around them; it is the text `json.dumps` makes of the message.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple

from catalog.events import RecordedEvent
from catalog.events.envelope import EventMetadata
from catalog.notifications import Notification
from catalog.notifications.json_text import json_value

MESSAGE_IDS = uuid.UUID("6f1c1a52-3d7e-4c1b-9b0e-2f0f7f1d7a10")
"""Namespace of the names whose SHA-1 gives a message id its bits after the time."""
ACTORS_WRITTEN = 4096
"""Actors whose part of the context's JSON is kept (a few hundred bytes each)."""
_NAMESPACE_HASHED = hashlib.sha1(MESSAGE_IDS.bytes, usedforsecurity=False)
"""SHA-1 over the namespace, as every id's begins (each id hashes a copy on)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_TIME_BITS = (1 << 48) - 1
"""The time's 48 bits, which the id keeps at its top (bits 80 to 127)."""
_VERSION_FIELD, _VARIANT_FIELD = 0xF << 76, 0x3 << 62
_HASH_BITS = ((1 << 80) - 1) & ~_VERSION_FIELD & ~_VARIANT_FIELD
"""The bits an id keeps of its name's SHA-1: those below the time but the version's and the
variant's."""
_VERSION_8 = (0x8 << 76) | (0x2 << 62)
"""Version 8 in its field, RFC 9562's variant (binary 10) in its."""


def message_id(event: str, index: int, occurred_at: datetime) -> uuid.UUID:
    """The id of the `index`th message of the event `event`, which occurred at `occurred_at`.

    A version 8 UUID (RFC 9562, laid out as version 7 is): the event's time in milliseconds
    since 1970 in its first 48 bits, then 74 bits of the SHA-1 of `{event}/{index}` in the
    namespace `MESSAGE_IDS`. The same event always gives the same ids (a message made again
    after a crash is the same message), and ids nearly follow the events' times: the outbox's
    unique index on them grows near its end, where ids hashed whole land at random places and
    cost the database more for each row as the index outgrows its cache (a catch-up writes
    millions). Events in one millisecond, or from nodes whose clocks differ, are not in the
    ids' order; nothing depends on it."""
    return uuid.UUID(int=_message_id_bits(event, index, occurred_at))


def message_id_text(event: str, index: int, occurred_at: datetime) -> str:
    """`str(message_id(event, index, occurred_at))`, written from the id's bits: no `UUID`
    made and turned into text for each of a catch-up's messages (a few microseconds per event)."""
    digits = f"{_message_id_bits(event, index, occurred_at):032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _message_id_bits(event: str, index: int, occurred_at: datetime) -> int:
    digest = _NAMESPACE_HASHED.copy()  # cheaper than a new hash of the namespace each time
    digest.update(f"{event}/{index}".encode())
    if occurred_at.tzinfo is None:  # none reaches here (clocks give UTC); taken as UTC
        occurred_at = occurred_at.replace(tzinfo=UTC)
    # Whole milliseconds, computed exactly (no float); a time before 1970 counts as 0.
    since_epoch = max((occurred_at - _EPOCH) // _MILLISECOND, 0) & _TIME_BITS
    hashed = int.from_bytes(digest.digest()[:16]) & _HASH_BITS
    return since_epoch << 80 | hashed | _VERSION_8


@cache
def _json_text(value: str) -> str:
    """The JSON of a text every message may carry: types, priorities, the publisher (a few)."""
    return json.dumps(value)


def oslo_timestamp(at: datetime) -> str:
    """oslo.messaging's `timestamp`: `str()` of a naive UTC datetime, which always has its
    microseconds (`%Y-%m-%d %H:%M:%S.%f`)."""
    if at.year < 1000:  # `strftime` leaves such a year unpadded, `isoformat` pads it
        return at.strftime("%Y-%m-%d %H:%M:%S.%f")
    # `isoformat` without arguments (as isotime's, see there) leaves out no microseconds.
    text = at.isoformat()
    if at.microsecond:
        return f"{text[:10]} {text[11:26]}"
    return f"{text[:10]} {text[11:19]}.000000"


def oslo_context(metadata: EventMetadata) -> dict[str, Any]:
    """The request context as oslo.context serialises it (the fields that mean something here)."""
    return {
        "request_id": metadata.request_id,
        "global_request_id": metadata.global_request_id,
        **_actor_context(metadata.actor.user_id, metadata.actor.project_id, metadata.actor.roles),
    }


def oslo_context_json(metadata: EventMetadata) -> str:
    """`json.dumps(oslo_context(metadata))`: the request's ids written for each event, what
    the actor adds once for each actor (a catch-up's events share a few actors, each of which
    `json.dumps` would walk again)."""
    actor = metadata.actor
    return (
        f'{{"request_id": {json_value(metadata.request_id)},'
        f' "global_request_id": {json_value(metadata.global_request_id)},'
        f" {_actor_json(actor.user_id, actor.project_id, actor.roles)}}}"
    )


def _actor_context(
    user_id: str | None, project_id: str | None, roles: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "project_id": project_id,
        "user": user_id,
        "tenant": project_id,
        "roles": list(roles),
        # What the actor holds; what it may do was the policy's to decide, at the request.
        "is_admin": "admin" in roles,
        "user_identity": f"{user_id or '-'} {project_id or '-'} - - -",
    }


@lru_cache(maxsize=ACTORS_WRITTEN)
def _actor_json(user_id: str | None, project_id: str | None, roles: tuple[str, ...]) -> str:
    """The actor's items of the context's JSON (without the braces)."""
    return json.dumps(_actor_context(user_id, project_id, roles))[1:-1]


class OsloMessage(NamedTuple):
    message_id: str
    """The message's id (`message_id`) as text."""
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
    # Digits and separators only: its JSON is the text quoted.
    timestamp = f'"{oslo_timestamp(recorded.occurred_at)}"'
    context = oslo_context_json(recorded.metadata)
    publisher = _json_text(publisher_id)
    event = str(recorded.event_id)
    payloads: dict[int, str] = {}  # by identity: several notifications may carry one payload
    messages = []
    for index, notification in notifications:
        message = message_id_text(event, index, recorded.occurred_at)
        payload = notification.payload_json or payloads.get(id(notification.payload))
        if payload is None:
            payload = payloads[id(notification.payload)] = json.dumps(notification.payload)
        text = (
            f'{{"message_id": "{message}", "publisher_id": {publisher},'
            f' "event_type": {_json_text(notification.event_type)},'
            f' "priority": {_json_text(notification.priority)}, "payload": {payload},'
            f' "timestamp": {timestamp}, "_context": {context}}}'
        )
        messages.append(OsloMessage(message, notification, text))
    return messages
