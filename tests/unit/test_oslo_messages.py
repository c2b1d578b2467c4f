"""The outbox's messages: oslo.messaging's notification message, as the JSON `json.dumps`
makes of it, what an event's notifications share encoded once; its timestamps and the
payloads' as `strftime` writes them."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from catalog.events import EventMetadata, RecordedEvent
from catalog.identity import Actor
from catalog.notifications import ERROR, INFO, Notification
from catalog.notifications.base import isotime
from infra.notifications.oslo_messages import (
    MESSAGE_IDS,
    message_id,
    message_id_text,
    oslo_messages,
    oslo_timestamp,
)

AT = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
EVENT_ID = uuid.UUID("0b5b0a4e-54a5-4b8e-9d53-3c8f7c1e2a11")
CONTEXT = {
    "request_id": "req-1",
    "global_request_id": None,
    "user_id": "alice",
    "project_id": "proj-a",
    "user": "alice",
    "tenant": "proj-a",
    "roles": ["admin", "member"],
    "is_admin": True,
    "user_identity": "alice proj-a - - -",
}


def recorded() -> RecordedEvent:
    actor = Actor(user_id="alice", project_id="proj-a", roles=("admin", "member"))
    return RecordedEvent(
        position=7,
        commit_order=7,
        stream_id=uuid.uuid4(),
        version=3,
        event_id=EVENT_ID,
        event_type="image.uploaded",
        schema_version=1,
        data={},
        metadata=EventMetadata(actor=actor, request_id="req-1"),
        occurred_at=AT,
    )


def test_a_message_is_the_json_of_oslos_message_with_the_context() -> None:
    payload = {"id": "i", "name": 'a "quoted" näme', "tags": ["t"], "size": None}
    notifications = [
        (0, Notification("image.upload", {**payload, "os_glance_failed_import": []})),
        (1, Notification("image.activate", payload)),
        (3, Notification("image.upload", "Failed to upload: \u2603", ERROR)),
    ]

    messages = oslo_messages(recorded(), notifications, "image.localhost")

    for message, (index, notification) in zip(messages, notifications, strict=True):
        expected_id = expected_message_id(str(EVENT_ID), index, AT)
        expected = {
            "message_id": str(expected_id),
            "publisher_id": "image.localhost",
            "event_type": notification.event_type,
            "priority": notification.priority,
            "payload": notification.payload,
            "timestamp": "2026-11-23 10:00:00.123456",
            "_context": CONTEXT,
        }
        assert message.text == json.dumps(expected)
        assert message.message_id == str(expected_id)
        assert message.notification is notification
    assert messages[1].notification.priority == INFO


@pytest.mark.parametrize(
    "at",
    [
        AT,
        datetime(2026, 1, 1),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(987, 6, 5, 4, 3, 2, 1, tzinfo=UTC),
    ],
)
def test_timestamps_are_strftimes_text(at: datetime) -> None:
    assert isotime(at) == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert oslo_timestamp(at) == at.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_timestamps_of_many_times_are_strftimes_text() -> None:
    rng = random.Random(17)
    zones = [None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(minutes=330))]
    for _ in range(5_000):
        at = datetime(2000, 1, 1, tzinfo=rng.choice(zones)) + timedelta(
            seconds=rng.randrange(10**9), microseconds=rng.choice([0, rng.randrange(10**6)])
        )
        assert isotime(at) == at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert oslo_timestamp(at) == at.strftime("%Y-%m-%d %H:%M:%S.%f")


def expected_message_id(event: str, index: int, at: datetime) -> uuid.UUID:
    """The id RFC 9562's layout gives: the time in milliseconds, version 8, the SHA-1 of the
    name in the namespace in the other bits, the RFC's variant."""
    hashed = hashlib.sha1(MESSAGE_IDS.bytes + f"{event}/{index}".encode()).digest()
    milliseconds = max(int(at.replace(tzinfo=at.tzinfo or UTC).timestamp() * 1000), 0)
    fields = bytearray(milliseconds.to_bytes(6) + hashed[6:16])
    fields[6] = 0x80 | fields[6] & 0x0F
    fields[8] = 0x80 | fields[8] & 0x3F
    return uuid.UUID(bytes=bytes(fields))


def test_message_ids_are_the_events_time_then_the_hash_of_the_event_and_index() -> None:
    rng = random.Random(5)
    times = [AT, datetime(2026, 1, 1), datetime(1960, 1, 1, tzinfo=UTC)]
    times += [AT + timedelta(microseconds=rng.randrange(10**12)) for _ in range(500)]
    for at in times:
        event = str(uuid.UUID(int=rng.getrandbits(128)))
        for index in range(4):
            expected = expected_message_id(event, index, at)
            assert message_id(event, index, at) == expected
            assert message_id_text(event, index, at) == str(expected)
            assert expected.version == 8
            assert expected.variant == uuid.RFC_4122


def test_a_message_id_is_the_same_for_the_event_read_back_at_any_offset() -> None:
    # Events come back from the log, Kafka's records (ISO text) or memory, at any offset.
    rng = random.Random(11)
    for _ in range(500):
        at = AT + timedelta(microseconds=rng.randrange(10**12))
        event = str(uuid.UUID(int=rng.getrandbits(128)))
        elsewhere = at.astimezone(timezone(timedelta(minutes=rng.randrange(-720, 720))))
        read_back = datetime.fromisoformat(elsewhere.isoformat())
        assert message_id(event, 2, read_back) == message_id(event, 2, at)


def test_message_ids_follow_the_events_times_and_differ_by_index() -> None:
    rng = random.Random(9)
    at = AT
    ids = []
    for _ in range(2_000):
        at += timedelta(milliseconds=rng.randrange(1, 50))
        event = str(uuid.UUID(int=rng.getrandbits(128)))
        ids.append([message_id_text(event, index, at) for index in range(3)])
    assert len({id_ for ids_of_event in ids for id_ in ids_of_event}) == 3 * len(ids)
    firsts = [ids_of_event[0] for ids_of_event in ids]
    # The text's order is the UUID's and the database's (bytes compared from the first).
    assert firsts == sorted(firsts)
