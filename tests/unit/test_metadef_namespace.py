"""The Namespace aggregate's rules, without I/O: names unique within it, nothing deleted from a
protected one, renames keep places, and a definition file loaded twice records nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from catalog.errors import BadRequest, Conflict, Forbidden, NotFound
from catalog.events import NewEvent
from catalog.events.metadefs import (
    MetadefNamespaceCreated,
    MetadefResourceTypeAssociated,
    ObjectDefinition,
    PropertyDefinition,
)
from catalog.metadefs.namespace import Namespace, NamespaceDefinition

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)


def definition(*, protected: bool = False) -> NamespaceDefinition:
    return NamespaceDefinition(
        fields=MetadefNamespaceCreated(namespace="ns", owner="p", protected=protected),
        associations=(MetadefResourceTypeAssociated(name="OS::Glance::Image", prefix="x_"),),
        objects=(ObjectDefinition(name="o"),),
        tags=("a", "b"),
        properties=(PropertyDefinition(name="p", attributes={"type": "string", "title": "P"}),),
    )


def saved(namespace: Namespace) -> Namespace:
    """The namespace as its recorded events rebuild it."""
    history = [NewEvent(event=n.event, occurred_at=n.occurred_at) for n in namespace.pending]
    return Namespace.from_history(namespace.id, history)


def test_a_created_namespace_is_rebuilt_from_its_events() -> None:
    made = Namespace.create(uuid.uuid4(), definition(), NOW)
    rebuilt = saved(made)
    assert rebuilt.exists
    assert (rebuilt.name, rebuilt.owner, rebuilt.version) == ("ns", "p", len(made.pending))
    assert list(rebuilt.tags) == ["a", "b"]
    assert list(rebuilt.objects) == ["o"]
    assert list(rebuilt.properties) == ["p"]
    assert rebuilt.associations["OS::Glance::Image"].prefix == "x_"


def test_names_are_unique_within_a_namespace() -> None:
    namespace = saved(Namespace.create(uuid.uuid4(), definition(), NOW))
    with pytest.raises(Conflict):
        namespace.add_object(ObjectDefinition(name="o"), LATER)
    with pytest.raises(Conflict):
        namespace.add_tag("a", LATER)
    with pytest.raises(Conflict):
        namespace.add_tags(("c", "c"), append=False, now=LATER)
    with pytest.raises(Conflict):
        namespace.update_tag("a", "b", LATER)
    with pytest.raises(Conflict):
        namespace.associate(MetadefResourceTypeAssociated(name="OS::Glance::Image"), LATER)
    with pytest.raises(NotFound):
        namespace.remove_object("nope", LATER)
    with pytest.raises(BadRequest):
        namespace.add_tag("t" * 81, LATER)
    assert namespace.pending == []


def test_a_rename_keeps_its_place() -> None:
    namespace = saved(Namespace.create(uuid.uuid4(), definition(), NOW))
    namespace.update_tag("a", "z", LATER)
    assert list(namespace.tags) == ["z", "b"]
    assert namespace.tags["z"].created_at == NOW
    assert namespace.tags["z"].updated_at == LATER


def test_nothing_is_deleted_from_a_protected_namespace() -> None:
    namespace = saved(Namespace.create(uuid.uuid4(), definition(protected=True), NOW))
    for delete in (
        namespace.delete,
        namespace.delete_objects,
        namespace.delete_properties,
        namespace.delete_tags,
        lambda now: namespace.remove_object("o", now),
        lambda now: namespace.remove_property("p", now),
        lambda now: namespace.remove_tag("a", now),
        lambda now: namespace.dissociate("OS::Glance::Image", now),
    ):
        with pytest.raises(Forbidden):
            delete(LATER)
    assert namespace.pending == []


def test_a_definition_loaded_again_records_nothing_and_a_changed_one_only_the_changes() -> None:
    namespace = saved(Namespace.create(uuid.uuid4(), definition(protected=True), NOW))
    namespace.conform_to(definition(protected=True), LATER)
    assert namespace.pending == []
    changed = definition(protected=True).model_copy(update={"tags": ("b", "c"), "objects": ()})
    namespace.conform_to(changed, LATER)
    assert [type(n.event).__name__ for n in namespace.pending] == [
        "MetadefObjectDeleted",
        "MetadefTagDeleted",
        "MetadefTagCreated",
    ]
    assert list(namespace.tags) == ["b", "c"]


def test_a_protected_namespace_says_which_item_cannot_be_deleted() -> None:
    namespace = saved(Namespace.create(uuid.uuid4(), definition(protected=True), NOW))
    image = "OS::Glance::Image"
    refusals: list[tuple[str, Callable[[datetime], None]]] = [
        ("namespace ns", namespace.delete),
        ("namespace ns", namespace.delete_tags),
        ("object o", lambda now: namespace.remove_object("o", now)),
        ("property p", lambda now: namespace.remove_property("p", now)),
        ("tag a", lambda now: namespace.remove_tag("a", now)),
        (f"resource-type-association {image}", lambda now: namespace.dissociate(image, now)),
    ]
    for what, delete in refusals:
        with pytest.raises(Forbidden) as refused:
            delete(LATER)
        assert refused.value.message == (
            f"Metadata definition {what} is protected and cannot be deleted."
        )
