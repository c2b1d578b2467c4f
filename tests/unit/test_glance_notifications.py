"""Glance's notifications from an image's events: types, order, payloads, and switching off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from catalog.events import (
    ImageCreated,
    ImageDataSent,
    ImageDeactivated,
    ImageTagAdded,
    ImageUploaded,
    ImageUploadStarted,
)
from catalog.identity import Actor
from catalog.notifications import INFO, ImageNotifications, disabled, sent_notification

AT = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
ALICE = Actor(user_id="alice", project_id="proj-a", roles=("member",))
UPLOADED = ImageUploaded(
    store="file",
    location="file:///x",
    size=3,
    checksum="c" * 32,
    os_hash_algo="sha512",
    os_hash_value="h" * 128,
    virtual_size=3,
)


def image() -> ImageNotifications:
    return ImageNotifications.start(uuid.uuid4())


def test_an_upload_prepares_uploads_activates_and_updates() -> None:
    notes = image()
    notes.advance(ImageCreated(name="n", owner="proj-a"), AT)
    started = notes.advance(ImageUploadStarted(store="file", location="file:///x"), AT)
    done = notes.advance(UPLOADED, AT)

    assert [n.event_type for n in started] == ["image.update", "image.prepare"]
    assert started[1].payload["backend"] == "file"  # type: ignore[index]
    assert [n.event_type for n in done] == ["image.upload", "image.activate", "image.update"]
    payload = done[0].payload
    assert isinstance(payload, dict)
    assert payload["status"] == "active"
    assert payload["size"] == 3
    assert payload["checksum"] == "c" * 32
    assert payload["created_at"] == "2026-11-23T10:00:00Z"
    # As Glance's: no locations, no os_hash_* or os_hidden.
    assert not {"locations", "os_hash_value", "os_hash_algo", "os_hidden"} & set(payload)


def test_tags_and_status_changes_are_updates() -> None:
    notes = image()
    notes.advance(ImageCreated(visibility="public"), AT)
    tagged = notes.advance(ImageTagAdded(tag="t"), AT)
    assert [n.event_type for n in tagged] == ["image.update"]
    assert tagged[0].payload["tags"] == ["t"]  # type: ignore[index]
    assert tagged[0].payload["is_public"] is True  # type: ignore[index]
    assert [n.event_type for n in notes.advance(ImageDeactivated(), AT)] == ["image.update"]


@pytest.mark.parametrize(("sent", "priority"), [(10, INFO), (4, "ERROR")])
def test_a_download_is_sent_and_short_ones_are_errors(sent: int, priority: str) -> None:
    event = ImageDataSent(image_id="i", owner="proj-a", bytes_sent=sent, requested=10, store="file")
    note = sent_notification(event, ALICE)
    assert note.event_type == "image.send"
    assert note.priority == priority
    assert note.payload == {
        "bytes_sent": sent,
        "image_id": "i",
        "owner_id": "proj-a",
        "receiver_tenant_id": "proj-a",
        "receiver_user_id": "alice",
    }


@pytest.mark.parametrize(
    ("event_type", "switched_off", "expected"),
    [
        ("image.member.create", {"image.member"}, True),
        ("image.member.create", {"image"}, True),
        ("image.update", {"image.member"}, False),
        ("image.update", {"image.up"}, False),
        ("image.send", {"image.send"}, True),
        ("image.sender", {"image.send"}, False),
        ("image.create", set(), False),
    ],
)
def test_disabled_types_match_whole_parts(
    event_type: str, switched_off: set[str], expected: bool
) -> None:
    assert disabled(event_type, frozenset(switched_off)) is expected
