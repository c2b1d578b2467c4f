"""Glance's `metadef_*` notifications from a namespace's events: for every event, the types,
the order and the payloads Glance sends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog.events import DomainEvent
from catalog.events.metadefs import (
    METADEF_EVENTS,
    MetadefNamespaceCreated,
    MetadefNamespaceDeleted,
    MetadefNamespaceUpdated,
    MetadefObjectCreated,
    MetadefObjectDeleted,
    MetadefObjectsDeleted,
    MetadefObjectUpdated,
    MetadefPropertiesDeleted,
    MetadefPropertyCreated,
    MetadefPropertyDeleted,
    MetadefPropertyUpdated,
    MetadefResourceTypeAssociated,
    MetadefResourceTypeDissociated,
    MetadefTagCreated,
    MetadefTagDeleted,
    MetadefTagsDeleted,
    MetadefTagsReplaced,
    MetadefTagUpdated,
    ObjectDefinition,
    PropertyDefinition,
)
from catalog.notifications import NamespaceNotifications, Notification

AT = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
LATER = AT + timedelta(minutes=1)
T0, T1 = "2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z"
FIELDS = MetadefNamespaceCreated(
    namespace="OS::Compute::Quota",
    display_name="Quota",
    description="quotas",
    visibility="public",
    protected=False,
    owner="admin",
)
CORES = {"type": "integer", "title": "Cores", "minimum": 0, "maximum": 64, "readonly": True}
OBJECT = ObjectDefinition(
    name="CPU", description="cpu", required=("cores",), properties={"cores": CORES}
)
PROPERTY = PropertyDefinition(
    name="hw_rng", attributes={"type": "string", "title": "RNG", "enum": ["a", "b"]}
)
OBJECT_NULLS = ("enum", "pattern", "minLength", "maxLength", "confidential", "items",
                "uniqueItems", "minItems", "maxItems", "additionalItems")  # fmt: skip
PROPERTY_NULLS = OBJECT_NULLS[1:]
OBJECT_NULLS = ("enum", "pattern", "minLength", "maxLength", "confidential", "items",
                "uniqueItems", "minItems", "maxItems", "additionalItems")  # fmt: skip
PROPERTY_NULLS = OBJECT_NULLS[1:]
KEPT = {"deleted": False, "deleted_at": None}
GONE = {"deleted": True, "deleted_at": T1}


def namespace(name: str = "OS::Compute::Quota", updated_at: str = T0) -> dict[str, Any]:
    return {
        "namespace": name,
        "namespace_old": name,
        "display_name": "Quota",
        "protected": False,
        "visibility": "public",
        "owner": "admin",
        "description": "quotas",
        "created_at": T0,
        "updated_at": updated_at,
        **KEPT,
    }


def named(name: str) -> dict[str, Any]:
    return {"namespace": "OS::Compute::Quota", "name": name, "name_old": name}


def object_payload(name: str = "CPU", updated_at: str = T0) -> dict[str, Any]:
    cores = {
        "name": "cores",
        "type": "integer",
        "title": "Cores",
        # Glance's object payload: falsy attributes (`minimum` 0 too) are null.
        **dict.fromkeys(("description", "default", "minimum"), None),
        "maximum": 64,
        **dict.fromkeys(OBJECT_NULLS, None),
    }
    return {
        **named(name),
        "properties": [cores],
        "required": ["cores"],
        "description": "cpu",
        "created_at": T0,
        "updated_at": updated_at,
        **KEPT,
    }


def property_payload(name: str = "hw_rng") -> dict[str, Any]:
    # No timestamps, no `operators` or `readonly`: as Glance's property payload.
    return {
        **named(name),
        "type": "string",
        "title": "RNG",
        **dict.fromkeys(("description", "default", "minimum", "maximum"), None),
        "enum": ["a", "b"],
        **dict.fromkeys(PROPERTY_NULLS, None),
        **KEPT,
    }


def tag_payload(name: str, created_at: str = T0, updated_at: str = T0) -> dict[str, Any]:
    return {**named(name), "created_at": created_at, "updated_at": updated_at, **KEPT}


RESOURCE_TYPE = {
    **named("OS::Nova::Flavor"),
    "prefix": "quota_",
    "properties_target": None,
    "created_at": T0,
    "updated_at": T0,
    **KEPT,
}


CREATION: tuple[DomainEvent, ...] = (
    FIELDS,
    MetadefResourceTypeAssociated(name="OS::Nova::Flavor", prefix="quota_"),
    MetadefObjectCreated(definition=OBJECT),
    MetadefTagCreated(name="t1"),
    MetadefPropertyCreated(definition=PROPERTY),
)
"""A namespace created with one of each kind of content, in the order its events have."""


def full() -> NamespaceNotifications:
    """A namespace holding one of each kind of content, all made at `AT`."""
    notes = NamespaceNotifications.start(uuid.uuid4())
    for event in CREATION:
        notes.advance(event, AT)
    return notes


def test_a_namespace_created_with_contents_is_notified_in_glances_order() -> None:
    notes = NamespaceNotifications.start(uuid.uuid4())
    said = [n for event in CREATION for n in notes.advance(event, AT)]

    assert said == [
        Notification("metadef_namespace.create", namespace()),
        Notification("metadef_resource_type.create", RESOURCE_TYPE),
        Notification("metadef_object.create", object_payload()),
        Notification("metadef_tag.create", tag_payload("t1")),
        Notification("metadef_property.create", property_payload()),
    ]


RENAMED = MetadefNamespaceUpdated(**{**FIELDS.model_dump(), "namespace": "OS::Compute::Quotas"})
CHANGES: list[tuple[DomainEvent, list[Notification]]] = [
    (
        RENAMED,
        [
            Notification(
                "metadef_namespace.update",
                {
                    **namespace("OS::Compute::Quotas", updated_at=T1),
                    "namespace_old": "OS::Compute::Quota",
                },
            )
        ],
    ),
    (
        MetadefNamespaceDeleted(),
        [Notification("metadef_namespace.delete", {**namespace(), **GONE})],
    ),
    (MetadefObjectsDeleted(), [Notification("metadef_namespace.delete_objects", namespace())]),
    (
        MetadefPropertiesDeleted(),
        [Notification("metadef_namespace.delete_properties", namespace())],
    ),
    (MetadefTagsDeleted(), [Notification("metadef_namespace.delete_tags", namespace())]),
    (
        MetadefTagsReplaced(names=("t2", "t3")),
        [
            Notification("metadef_tag.create", tag_payload("t2", T1, T1)),
            Notification("metadef_tag.create", tag_payload("t3", T1, T1)),
        ],
    ),
    (
        MetadefObjectUpdated(name="CPU", definition=OBJECT.model_copy(update={"name": "Cpu"})),
        [Notification("metadef_object.update", {**object_payload("Cpu", T1), "name_old": "CPU"})],
    ),
    (
        MetadefObjectDeleted(name="CPU"),
        [Notification("metadef_object.delete", {**object_payload(), **GONE})],
    ),
    (
        MetadefPropertyUpdated(
            name="hw_rng", definition=PROPERTY.model_copy(update={"name": "hw_rng2"})
        ),
        [
            Notification(
                "metadef_property.update", {**property_payload("hw_rng2"), "name_old": "hw_rng"}
            )
        ],
    ),
    (
        MetadefPropertyDeleted(name="hw_rng"),
        [Notification("metadef_property.delete", {**property_payload(), **GONE})],
    ),
    (
        MetadefTagCreated(name="t2"),
        [Notification("metadef_tag.create", tag_payload("t2", T1, T1))],
    ),
    (
        MetadefTagUpdated(name="t1", new_name="t9"),
        [Notification("metadef_tag.update", {**tag_payload("t9", T0, T1), "name_old": "t1"})],
    ),
    (
        MetadefTagDeleted(name="t1"),
        [Notification("metadef_tag.delete", {**tag_payload("t1"), **GONE})],
    ),
    (
        MetadefResourceTypeAssociated(name="OS::Glance::Image", properties_target="image"),
        [
            Notification(
                "metadef_resource_type.create",
                {
                    **named("OS::Glance::Image"),
                    "prefix": None,
                    "properties_target": "image",
                    "created_at": T1,
                    "updated_at": T1,
                    **KEPT,
                },
            )
        ],
    ),
    (
        MetadefResourceTypeDissociated(name="OS::Nova::Flavor"),
        [Notification("metadef_resource_type.delete", {**RESOURCE_TYPE, **GONE})],
    ),
]


@pytest.mark.parametrize(
    ("event", "expected"), CHANGES, ids=[type(event).__name__ for event, _ in CHANGES]
)
def test_every_change_is_notified_as_glance_does(
    event: DomainEvent, expected: list[Notification]
) -> None:
    notes = full()
    assert notes.advance(event, LATER) == expected


def test_every_event_of_a_namespace_is_notified() -> None:
    covered = {type(event) for event, _ in CHANGES} | {
        MetadefNamespaceCreated,
        MetadefObjectCreated,
        MetadefPropertyCreated,
    }
    assert covered == set(METADEF_EVENTS)


def test_contents_of_a_renamed_namespace_name_it_by_its_new_name() -> None:
    notes = full()
    notes.advance(RENAMED, LATER)
    [tag] = notes.advance(MetadefTagCreated(name="t2"), LATER)
    assert isinstance(tag.payload, dict)
    assert tag.payload["namespace"] == "OS::Compute::Quotas"


def test_a_deleted_namespace_has_ended() -> None:
    notes = full()
    assert not notes.ended
    notes.advance(MetadefNamespaceDeleted(), LATER)
    assert notes.ended
