"""The Namespace aggregate: a metadata definitions namespace and everything it holds.

Pure: no I/O, no clock. Command methods check Glance's rules (names unique within the
namespace, nothing deleted from a protected one) and record events; state changes only in
`apply`. Who may do what is the policy's business, decided by the commands before they get
here; that no other namespace has the same name is checked as the events are appended (see
`catalog/claims.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from catalog.aggregate import EventSourced
from catalog.errors import Conflict, Forbidden, NotFound
from catalog.events import DomainEvent
from catalog.events.metadefs import (
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
from catalog.metadefs.definitions import checked_name

V = TypeVar("V")


def object_not_found(name: str) -> NotFound:
    """Glance's answer for an object the namespace does not hold (its properties' and tags'
    below)."""
    return NotFound(f"Could not find metadata object {name}")


def property_not_found(name: str) -> NotFound:
    return NotFound(f"Could not find property {name}")


def tag_not_found(name: str) -> NotFound:
    return NotFound(f"Could not find metadata tag {name}")


@dataclass(frozen=True)
class MetadefObject:
    definition: ObjectDefinition
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MetadefTag:
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Association:
    """The namespace applies to resources of one type."""

    name: str
    prefix: str | None
    properties_target: str | None
    created_at: datetime
    updated_at: datetime


class NamespaceDefinition(BaseModel):
    """A namespace as a client creates it, or as a definition file describes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: MetadefNamespaceCreated
    associations: tuple[MetadefResourceTypeAssociated, ...] = ()
    objects: tuple[ObjectDefinition, ...] = ()
    tags: tuple[str, ...] = ()
    properties: tuple[PropertyDefinition, ...] = ()


class Namespace(EventSourced):
    """One namespace's decision state, rebuilt from its events."""

    def __init__(self, stream_id: uuid.UUID) -> None:
        super().__init__(stream_id)
        self.name = ""
        self.display_name: str | None = None
        self.description: str | None = None
        self.visibility = "private"
        self.protected = False
        self.owner: str | None = None
        self.created_at: datetime | None = None
        self.updated_at: datetime | None = None
        self.deleted = False
        self.objects: dict[str, MetadefObject] = {}
        self.properties: dict[str, PropertyDefinition] = {}
        self.tags: dict[str, MetadefTag] = {}
        self.associations: dict[str, Association] = {}

    @property
    def exists(self) -> bool:
        return super().exists and not self.deleted

    # -- the namespace ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls, stream_id: uuid.UUID, definition: NamespaceDefinition, now: datetime
    ) -> Namespace:
        """A new namespace with its contents, recorded in Glance's order: the namespace, its
        resource types, objects, tags, then properties."""
        namespace = cls(stream_id)
        checked_name("namespace", definition.fields.namespace)
        namespace._record(definition.fields, now)
        for association in definition.associations:
            namespace.associate(association, now)
        for definition_of_object in definition.objects:
            namespace.add_object(definition_of_object, now)
        for tag in definition.tags:
            namespace.add_tag(tag, now)
        for definition_of_property in definition.properties:
            namespace.add_property(definition_of_property, now)
        return namespace

    def update(self, fields: MetadefNamespaceUpdated, now: datetime) -> None:
        checked_name("namespace", fields.namespace)
        self._record(fields, now)

    def delete(self, now: datetime) -> None:
        self._require_unprotected()
        self._record(MetadefNamespaceDeleted(), now)

    def delete_objects(self, now: datetime) -> None:
        self._require_unprotected()
        self._record(MetadefObjectsDeleted(), now)

    def delete_properties(self, now: datetime) -> None:
        self._require_unprotected()
        self._record(MetadefPropertiesDeleted(), now)

    def delete_tags(self, now: datetime) -> None:
        self._require_unprotected()
        self._record(MetadefTagsDeleted(), now)

    def _require_unprotected(self, what: str = "namespace", name: str | None = None) -> None:
        """Nothing is deleted from a protected namespace: not `what` called `name` (the
        namespace itself by default)."""
        if self.protected:
            raise Forbidden(
                f"Metadata definition {what} {name or self.name} is protected and cannot be"
                " deleted."
            )

    # -- objects ---------------------------------------------------------------------------------

    def add_object(self, definition: ObjectDefinition, now: datetime) -> None:
        _check_object(definition)
        if definition.name in self.objects:
            raise Conflict(
                f"A metadata definition object with name={definition.name} already exists in "
                f"namespace={self.name}."
            )
        self._record(MetadefObjectCreated(definition=definition), now)

    def update_object(self, name: str, definition: ObjectDefinition, now: datetime) -> None:
        self._require_object(name)
        _check_object(definition)
        if definition.name != name and definition.name in self.objects:
            raise Conflict(
                "Invalid update. It would result in a duplicate metadata definition object "
                f"with the same name={definition.name} in namespace={self.name}."
            )
        self._record(MetadefObjectUpdated(name=name, definition=definition), now)

    def remove_object(self, name: str, now: datetime) -> None:
        self._require_object(name)
        self._require_unprotected("object", name)
        self._record(MetadefObjectDeleted(name=name), now)

    def _require_object(self, name: str) -> MetadefObject:
        try:
            return self.objects[name]
        except KeyError:
            raise object_not_found(name) from None

    # -- properties ------------------------------------------------------------------------------

    def add_property(self, definition: PropertyDefinition, now: datetime) -> None:
        checked_name("property", definition.name)
        if definition.name in self.properties:
            raise Conflict(
                f"A metadata definition property with name={definition.name} already exists in "
                f"namespace={self.name}."
            )
        self._record(MetadefPropertyCreated(definition=definition), now)

    def update_property(self, name: str, definition: PropertyDefinition, now: datetime) -> None:
        self._require_property(name)
        checked_name("property", definition.name)
        if definition.name != name and definition.name in self.properties:
            raise Conflict(
                "Invalid update. It would result in a duplicate metadata definition property "
                f"with the same name={definition.name} in namespace={self.name}."
            )
        self._record(MetadefPropertyUpdated(name=name, definition=definition), now)

    def remove_property(self, name: str, now: datetime) -> None:
        self._require_property(name)
        self._require_unprotected("property", name)
        self._record(MetadefPropertyDeleted(name=name), now)

    def _require_property(self, name: str) -> PropertyDefinition:
        try:
            return self.properties[name]
        except KeyError:
            raise property_not_found(name) from None

    # -- tags ------------------------------------------------------------------------------------

    def add_tag(self, name: str, now: datetime) -> None:
        self._require_new_tags([name], append=True)
        self._record(MetadefTagCreated(name=name), now)

    def add_tags(self, names: tuple[str, ...], *, append: bool, now: datetime) -> None:
        """Several tags at once, after the existing ones (`append`) or in their place. Glance
        does nothing at all for none, not even take the existing ones away."""
        if not names:
            return
        self._require_new_tags(names, append=append)
        if not append:
            self._record(MetadefTagsReplaced(names=names), now)
            return
        for name in names:
            self._record(MetadefTagCreated(name=name), now)

    def update_tag(self, name: str, new_name: str, now: datetime) -> None:
        self._require_tag(name)
        if new_name != name:
            self._require_new_tags([new_name], append=True)
        checked_name("tag", new_name)
        self._record(MetadefTagUpdated(name=name, new_name=new_name), now)

    def remove_tag(self, name: str, now: datetime) -> None:
        self._require_tag(name)
        self._require_unprotected("tag", name)
        self._record(MetadefTagDeleted(name=name), now)

    def _require_tag(self, name: str) -> MetadefTag:
        try:
            return self.tags[name]
        except KeyError:
            raise tag_not_found(name) from None

    def _require_new_tags(self, names: Iterable[str], *, append: bool) -> None:
        seen = set(self.tags) if append else set()
        for name in names:
            checked_name("tag", name)
            if name in seen:
                raise Conflict(
                    f"A metadata tag with name={name} already exists in namespace={self.name}."
                    " (Please note that metadata tag names are case insensitive)."
                )
            seen.add(name)

    # -- resource types --------------------------------------------------------------------------

    def associate(self, association: MetadefResourceTypeAssociated, now: datetime) -> None:
        checked_name("resource type", association.name)
        if association.name in self.associations:
            raise Conflict(
                "The metadata definition resource-type association of resource-type="
                f"{association.name} to namespace={self.name} already exists."
            )
        self._record(association, now)

    def dissociate(self, name: str, now: datetime) -> None:
        if name not in self.associations:
            raise NotFound(f"Failed to find resource type {name} to delete")
        self._require_unprotected("resource-type-association", name)
        self._record(MetadefResourceTypeDissociated(name=name), now)

    # -- a definition file ------------------------------------------------------------------------

    def conform_to(self, definition: NamespaceDefinition, now: datetime) -> None:
        """Record what makes the namespace what `definition` says, and nothing when it already
        is: an operator's definition file wins over what the API changed, protected or not.
        Contents keep their place; what the definition no longer has goes."""
        fields = MetadefNamespaceUpdated(**definition.fields.model_dump())
        if fields != self._fields():
            self.update(fields, now)
        wanted_types = {a.name: a for a in definition.associations}
        for name, current in list(self.associations.items()):
            wanted = wanted_types.get(name)
            if wanted is None or (wanted.prefix, wanted.properties_target) != (
                current.prefix,
                current.properties_target,
            ):
                self._record(MetadefResourceTypeDissociated(name=name), now)
        for association in definition.associations:
            if association.name not in self.associations:
                self.associate(association, now)
        self._conform_objects(definition.objects, now)
        self._conform_properties(definition.properties, now)
        for name in [tag for tag in self.tags if tag not in definition.tags]:
            self._record(MetadefTagDeleted(name=name), now)
        for tag in definition.tags:
            if tag not in self.tags:
                self.add_tag(tag, now)

    def _conform_objects(self, objects: tuple[ObjectDefinition, ...], now: datetime) -> None:
        wanted = {o.name for o in objects}
        for name in [name for name in self.objects if name not in wanted]:
            self._record(MetadefObjectDeleted(name=name), now)
        for definition in objects:
            current = self.objects.get(definition.name)
            if current is None:
                self.add_object(definition, now)
            elif current.definition != definition:
                self.update_object(definition.name, definition, now)

    def _conform_properties(
        self, properties: tuple[PropertyDefinition, ...], now: datetime
    ) -> None:
        wanted = {p.name for p in properties}
        for name in [name for name in self.properties if name not in wanted]:
            self._record(MetadefPropertyDeleted(name=name), now)
        for definition in properties:
            current = self.properties.get(definition.name)
            if current is None:
                self.add_property(definition, now)
            elif current != definition:
                self.update_property(definition.name, definition, now)

    def _fields(self) -> MetadefNamespaceUpdated:
        return MetadefNamespaceUpdated(
            namespace=self.name,
            display_name=self.display_name,
            description=self.description,
            visibility=self.visibility,
            protected=self.protected,
            owner=self.owner,
        )

    # -- state -----------------------------------------------------------------------------------

    def apply(self, event: DomainEvent, at: datetime) -> None:
        """Change state by one event. Never raises for an event that is in the log."""
        match event:
            case MetadefNamespaceCreated() | MetadefNamespaceUpdated():
                self.name = event.namespace
                self.display_name = event.display_name
                self.description = event.description
                self.visibility = event.visibility
                self.protected = event.protected
                self.owner = event.owner
                self.created_at = self.created_at or at
                self.updated_at = at
                self.deleted = False
            case MetadefNamespaceDeleted():
                self.deleted = True
                self.objects, self.properties, self.tags, self.associations = {}, {}, {}, {}
            case MetadefObjectsDeleted():
                self.objects = {}
            case MetadefPropertiesDeleted():
                self.properties = {}
            case MetadefTagsDeleted():
                self.tags = {}
            case MetadefTagsReplaced():
                self.tags = {name: MetadefTag(name, at, at) for name in event.names}
            case MetadefObjectCreated():
                self.objects[event.definition.name] = MetadefObject(event.definition, at, at)
            case MetadefObjectUpdated():
                old = self.objects[event.name]
                changed = MetadefObject(event.definition, old.created_at, at)
                self.objects = _renamed(self.objects, event.name, event.definition.name, changed)
            case MetadefObjectDeleted():
                del self.objects[event.name]
            case MetadefPropertyCreated():
                self.properties[event.definition.name] = event.definition
            case MetadefPropertyUpdated():
                self.properties = _renamed(
                    self.properties, event.name, event.definition.name, event.definition
                )
            case MetadefPropertyDeleted():
                del self.properties[event.name]
            case MetadefTagCreated():
                self.tags[event.name] = MetadefTag(event.name, at, at)
            case MetadefTagUpdated():
                old_tag = self.tags[event.name]
                renamed = replace(old_tag, name=event.new_name, updated_at=at)
                self.tags = _renamed(self.tags, event.name, event.new_name, renamed)
            case MetadefTagDeleted():
                del self.tags[event.name]
            case MetadefResourceTypeAssociated():
                self.associations[event.name] = Association(
                    event.name, event.prefix, event.properties_target, at, at
                )
            case MetadefResourceTypeDissociated():
                del self.associations[event.name]
            case _:
                raise LookupError(f"Namespace cannot apply {type(event).__name__}")


def _renamed(items: dict[str, V], old: str, new: str, value: V) -> dict[str, V]:
    """`items` with the entry `old` replaced by `new: value`, in the same place."""
    return {(new if key == old else key): (value if key == old else v) for key, v in items.items()}


def _check_object(definition: ObjectDefinition) -> None:
    checked_name("object", definition.name)
    for name in definition.properties:
        checked_name("property", name)
