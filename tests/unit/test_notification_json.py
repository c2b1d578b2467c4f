"""Payloads and contexts written from pieces kept as JSON text are the text `json.dumps` makes
of them, byte for byte: for every type of an image's events, for awkward values, and after a
fold was packed and unpacked."""

from __future__ import annotations

import enum
import json
import pickle
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog.events import (
    DomainEvent,
    EventMetadata,
    ImageCopied,
    ImageCopyFailed,
    ImageCopyStarted,
    ImageCreated,
    ImageDeleted,
    ImageMemberAdded,
    ImageTagAdded,
    ImageUpdated,
    ImageUploaded,
    ImageUploadFailed,
    ImageUploadStarted,
)
from catalog.identity import Actor
from catalog.notifications import ImageNotifications, Notification
from catalog.notifications.image_state import ImageState
from catalog.notifications.json_text import json_value, with_items
from infra.notifications.oslo_messages import oslo_context, oslo_context_json
from tests.unit.test_image_notification_state import (
    FROM_GLANCE,
    LIVES,
    MADE_HERE,
    UPLOADED_HERE,
    at,
)

AWKWARD_TEXTS = (
    "",
    'a "quoted" \\ back\\slash',
    "näme ☃ \U0001d11e",
    "control \x00\x01\x1f\x7f \n\r\t\b\f",
    "</script>&<>'",
    "\ud800 lone surrogate",
)


class Size(enum.IntEnum):
    BIG = 7


class Status(enum.StrEnum):
    ACTIVE = "active"


HASHES = {"checksum": "c" * 32, "os_hash_algo": "sha512", "os_hash_value": "e" * 128}


def told(events: tuple[DomainEvent, ...]) -> list[Notification]:
    """Every notification an image with these events sends, in order."""
    image = ImageNotifications(uuid.uuid4())
    return [n for index, event in enumerate(events) for n in image.advance(event, at(index))]


def assert_written_as_json_dumps(notifications: list[Notification]) -> None:
    for notification in notifications:
        if notification.payload_json is not None:
            expected = json.dumps(notification.payload)
            assert notification.payload_json == expected, notification.event_type


@pytest.mark.parametrize("life", LIVES)
def test_every_image_payload_is_written_as_json_dumps_writes_it(
    life: tuple[DomainEvent, ...],
) -> None:
    notifications = told(life)

    assert_written_as_json_dumps(notifications)
    # Every payload of the image's own state comes written (texts of errors are not dicts).
    assert all(
        n.payload_json is not None
        for n in notifications
        if isinstance(n.payload, dict) and "visibility" in n.payload
    )


def test_the_lives_cover_every_kind_of_image_payload() -> None:
    kinds = {n.event_type for life in (MADE_HERE, UPLOADED_HERE, FROM_GLANCE) for n in told(life)}
    image_payloads = {
        "image.create",
        "image.update",
        "image.prepare",
        "image.upload",
        "image.activate",
        "image.delete",
    }
    assert image_payloads <= kinds


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_awkward_texts_are_written_as_json_dumps_writes_them(text: str) -> None:
    life: tuple[DomainEvent, ...] = (
        ImageCreated(
            name=text,
            owner=text,
            disk_format=text,
            container_format=text,
            visibility=text,
            tags=(text, "z", "a"),
            properties={text: text, "os_distro": text},
        ),
        ImageUpdated(attributes={"name": None, "owner": None, "min_ram": 2**80}),
        ImageTagAdded(tag=text + "2"),
        ImageUploadStarted(store=text, location="file:///x"),
        ImageUploadFailed(reason=text, location="file:///x"),
        ImageUploadStarted(store="file", location="file:///x"),
        ImageUploaded(
            store="file", location="file:///x", size=2**63 - 1, virtual_size=None, **HASHES
        ),
        ImageCopyStarted(store=text, location="s3://x"),
        ImageCopyFailed(store=text, location="s3://x", reason=text),
        ImageCopyStarted(store="s3", location="s3://y"),
        ImageCopied(store="s3", location="s3://y"),
        ImageMemberAdded(member=text),
        ImageDeleted(locations=("file:///x",)),
    )

    notifications = told(life)

    assert_written_as_json_dumps(notifications)
    assert sum(n.payload_json is not None for n in notifications) >= 10


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**100,
        -(2**64),
        1.5,
        1e300,
        float("nan"),
        float("inf"),
        "",
        *AWKWARD_TEXTS,
        [],
        (),
        ("a", 1, None),
        {},
        {"nested": {"list": [1, "two", None, {"deep": True}]}, "ünï": "cöde"},
        Size.BIG,
        Status.ACTIVE,
    ],
)
def test_a_value_is_written_as_json_dumps_writes_it(value: Any) -> None:
    assert json_value(value) == json.dumps(value)


def test_the_states_odd_values_and_nested_properties_are_written_as_json_dumps_would() -> None:
    """What a state may come to hold beyond what its events declare (attributes of an update
    are any JSON): each field as `json.dumps` writes it."""
    state = ImageState(uuid.uuid4())
    state.apply(ImageCreated(name="n", properties={"p": "1"}, tags=("t",)), at(0))
    state.apply(
        ImageUpdated(
            attributes={"min_disk": 1.5, "protected": None, "checksum": 10**30, "name": ["x"]}
        ),
        at(1),
    )
    state.properties = {"nested": {"a": [1, {"b": None}], "ü": "\x00"}}  # type: ignore[dict-item]

    assert state.payload_json() == json.dumps(state.payload())
    assert state.payload_json(deleted_at="2026-12-01T00:01:00Z") == json.dumps(
        {**state.payload(), "deleted": True, "deleted_at": "2026-12-01T00:01:00Z"}
    )


def test_properties_and_tags_changed_are_written_again() -> None:
    state = ImageState(uuid.uuid4())
    state.apply(ImageCreated(properties={"p": "1"}, tags=("a",)), at(0))
    first = state.payload_json()
    state.apply(ImageUpdated(properties={"p": "2"}, removed_properties=()), at(1))
    state.apply(ImageTagAdded(tag="b"), at(2))

    assert '"properties": {"p": "1"}, "tags": ["a"]' in first
    assert '"properties": {"p": "2"}, "tags": ["a", "b"]' in state.payload_json()
    assert state.payload_json() == json.dumps(state.payload())


def test_a_packed_and_unpacked_fold_writes_the_same_payloads() -> None:
    """The consumer keeps older folds pickled: what they kept written comes back with them."""
    image = ImageNotifications(uuid.uuid4())
    for index, event in enumerate(MADE_HERE[:16]):
        image.advance(event, at(index))
    unpacked: ImageNotifications = pickle.loads(pickle.dumps(image))

    later = ImageUpdated(properties={"q": "9"}, removed_properties=())
    (told_live,), (told_unpacked,) = image.advance(later, at(20)), unpacked.advance(later, at(20))
    assert told_live == told_unpacked
    assert told_live.payload_json == told_unpacked.payload_json
    assert unpacked.image.payload_json() == json.dumps(unpacked.image.payload())


@pytest.mark.parametrize(
    ("payload", "more"),
    [
        ({"a": 1}, {"b": [], "c": "ü"}),
        ({"a": 1}, {}),
        ({}, {"b": None}),
        ({}, {}),
    ],
)
def test_items_added_after_a_payload_are_written_as_json_dumps_would(
    payload: dict[str, Any], more: dict[str, Any]
) -> None:
    assert with_items(json.dumps(payload), more) == json.dumps({**payload, **more})


@pytest.mark.parametrize(
    "actor",
    [
        Actor(user_id="alice", project_id="proj-a", roles=("admin", "member")),
        Actor(),
        Actor(user_id='"quoted"\\', project_id="pröj \x00", roles=("réader", "")),
    ],
)
@pytest.mark.parametrize("request_id", [None, "req-1", "req-\u2603\n"])
def test_the_context_is_written_as_json_dumps_writes_it(
    actor: Actor, request_id: str | None
) -> None:
    for global_request_id in (None, 'req-"global"'):
        metadata = EventMetadata(
            actor=actor, request_id=request_id, global_request_id=global_request_id
        )
        assert oslo_context_json(metadata) == json.dumps(oslo_context(metadata))


def test_a_deleted_images_payload_carries_its_deletion() -> None:
    when = datetime(2026, 12, 3, 4, 5, 6, tzinfo=UTC)
    image = ImageNotifications(uuid.uuid4())
    image.advance(ImageCreated(name="n"), when - timedelta(days=1))
    (deleted,) = image.advance(ImageDeleted(locations=()), when)

    assert deleted.payload_json is not None
    assert json.loads(deleted.payload_json)["deleted_at"] == "2026-12-03T04:05:06Z"
    assert deleted.payload_json == json.dumps(deleted.payload)
