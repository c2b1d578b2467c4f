"""The timeline of `catalog history`: one readable line per event, changes shown with what they
replaced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from catalog.events import (
    DomainEvent,
    EventMetadata,
    ImageCreated,
    ImageDataSent,
    ImageDeactivated,
    ImageDeleted,
    ImageMemberAdded,
    ImageMemberStatusChanged,
    ImageTagAdded,
    ImageUpdated,
    ImageUploaded,
    RecordedEvent,
    encode,
)
from catalog.identity import SYSTEM_ACTOR, Actor
from catalog.queries.image_history import HistoryEntry
from infra.history_timeline import Timeline

IMAGE = uuid.uuid4()
START = datetime(2026, 11, 23, 10, 1, 2, 345678, tzinfo=UTC)
ALICE = EventMetadata(
    actor=Actor(user_id="u1", project_id="p1", roles=("admin", "member")), request_id="req-1"
)


def entry(
    version: int,
    event: DomainEvent,
    metadata: EventMetadata = ALICE,
    stream_id: uuid.UUID = IMAGE,
) -> HistoryEntry:
    recorded = RecordedEvent(
        position=version,
        commit_order=0,
        stream_id=stream_id,
        version=version,
        event_id=uuid.uuid4(),
        event_type=event.event_type,
        schema_version=event.schema_version,
        data=encode(event),
        metadata=metadata,
        occurred_at=START + timedelta(seconds=version),
    )
    return HistoryEntry(recorded, event)


def lines(*events: DomainEvent) -> list[str]:
    timeline = Timeline(IMAGE)
    return [timeline.line(entry(v, e)) for v, e in enumerate(events, start=1)]


def changes(*events: DomainEvent) -> list[str]:
    """What each line says changed (its last column)."""
    return [line.split("  req-1  ")[1] for line in lines(*events)]


def test_a_line_has_time_version_type_actor_request_and_change() -> None:
    created = ImageCreated(name="a", owner="p1")
    renamed = ImageUpdated(attributes={"name": "b"})
    assert lines(created, renamed)[1] == (
        "2026-11-23T10:01:04Z  v2    image.updated                "
        "by user u1 (project p1, roles admin,member)  req-1  name: 'a' → 'b'"
    )


def test_creation_shows_what_was_given() -> None:
    created = ImageCreated(name="a", owner="p1", tags=("x",), properties={"os_distro": "debian"})
    assert changes(created) == ["created: name='a', owner='p1', tags=['x'], os_distro='debian'"]
    assert changes(ImageCreated()) == ["created"]


def test_a_patch_shows_each_attribute_property_and_tag_it_changed() -> None:
    created = ImageCreated(
        name="a", min_ram=0, tags=("old", "kept"), properties={"os_distro": "debian", "tmp": "x"}
    )
    patched = ImageUpdated(
        attributes={"name": "b", "min_ram": 512, "protected": True},
        properties={"os_distro": "ubuntu", "os_version": "24.04"},
        removed_properties=("tmp",),
        tags=("kept", "new"),
    )
    assert changes(created, patched)[1] == (
        "name: 'a' → 'b'; min_ram: 0 → 512; protected: False → True; "
        "os_distro: 'debian' → 'ubuntu'; os_version: (none) → '24.04'; "
        "tmp: 'x' → (removed); tags: +new -old"
    )


def test_each_change_follows_from_the_one_before() -> None:
    assert changes(
        ImageCreated(name="a"),
        ImageUpdated(attributes={"name": "b"}),
        ImageUpdated(attributes={"name": "c"}),
    )[1:] == ["name: 'a' → 'b'", "name: 'b' → 'c'"]


def test_status_membership_data_and_deletion_in_a_few_words() -> None:
    uploaded = ImageUploaded(
        store="file",
        location="file:///x",
        size=4,
        checksum="md5",
        os_hash_algo="sha512",
        os_hash_value="h",
    )
    assert changes(
        ImageCreated(),
        uploaded,
        ImageTagAdded(tag="gold"),
        ImageDeactivated(),
        ImageMemberAdded(member="p2"),
        ImageMemberStatusChanged(member="p2", status="accepted"),
        ImageDeleted(locations=("file:///x",)),
    )[1:] == [
        "data: 4 bytes in store file, checksum md5",
        "tags: +gold",
        "status: 'active' → 'deactivated'",
        "member p2 added (pending)",
        "member p2: 'pending' → 'accepted'",
        "deleted, 1 data location(s) to remove",
    ]


def test_a_download_is_on_a_stream_of_its_own_and_changes_nothing() -> None:
    timeline = Timeline(IMAGE)
    timeline.line(entry(1, ImageCreated(name="a")))
    sent = ImageDataSent(
        image_id=str(IMAGE), owner="p1", bytes_sent=2, offset=2, requested=4, store="file"
    )
    reader = EventMetadata(actor=Actor(user_id="u2", project_id="p2", roles=("member",)))
    download = timeline.line(entry(1, sent, reader, stream_id=uuid.uuid4()))
    assert download == (
        "2026-11-23T10:01:03Z  --    image.data_sent              "
        "by user u2 (project p2, roles member)  -  sent 2 of 4 bytes from store file at offset 2"
    )
    renamed = timeline.line(entry(2, ImageUpdated(attributes={"name": "b"})))
    assert renamed.endswith("name: 'a' → 'b'")


def test_the_catalogs_own_actions_and_global_request_ids_are_named() -> None:
    system = EventMetadata(actor=SYSTEM_ACTOR, request_id=None)
    timeline = Timeline(IMAGE)
    assert "by user catalog (project -, roles admin,service)  -  created" in timeline.line(
        entry(1, ImageCreated(), system)
    )
    chained = EventMetadata(actor=ALICE.actor, request_id="req-2", global_request_id="req-g")
    assert "  req-2 (global req-g)  tags: +a" in timeline.line(
        entry(2, ImageTagAdded(tag="a"), chained)
    )
