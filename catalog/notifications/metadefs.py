"""Glance's `metadef_*` notifications, derived from the events of a metadata definitions
namespace's stream (`format_metadef_*_notification` and the `Metadef*RepoProxy` classes in
`glance/notifier.py`).

What Glance sends for each change:

- the namespace: `metadef_namespace.create`, `.update` (with `namespace_old`, its name before),
  `.delete`, and `.delete_objects`, `.delete_properties`, `.delete_tags` when all of one kind
  of its contents go at once (the namespace's payload; nothing per item);
- objects, properties and tags: `metadef_<kind>.create`, `.update` (with `name_old`), `.delete`;
  tags that replace all the others are a `metadef_tag.create` each (nothing for those gone);
- resource type associations: `metadef_resource_type.create` and `.delete`.

A namespace created with contents is its `create`, then one per resource type, object, tag and
property, in that order (the order of its events). An update tells the item as it is after it,
a delete as it was, with `deleted` and `deleted_at`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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
)
from catalog.metadefs.definitions import PROPERTY_ATTRIBUTES
from catalog.metadefs.namespace import Namespace
from catalog.notifications.base import (
    Notification,
    StreamNotifications,
    deleted_at,
    isotime,
)

NOTIFIED_ATTRIBUTES = tuple(a for a in PROPERTY_ATTRIBUTES if a not in {"operators", "readonly"})
"""A property definition's attributes in Glance's payloads (all but `operators`, `readonly`)."""
_KEPT = {"deleted": False, "deleted_at": None}


class NamespaceNotifications(StreamNotifications):
    """The notifications of one namespace and what it holds."""

    def __init__(self, stream_id: uuid.UUID) -> None:
        super().__init__(stream_id)
        self.namespace = Namespace(stream_id)

    @property
    def ended(self) -> bool:
        return self.namespace.deleted

    def _fold(self, event: DomainEvent, at: datetime) -> None:
        self.namespace.apply(event, at)

    def _notifications(self, event: DomainEvent, at: datetime) -> list[Notification]:
        removed = self._removed(event)
        name_before = self.namespace.name
        self._fold(event, at)
        if removed is not None:
            kind, payload = removed
            return [Notification(f"{kind}.delete", deleted_at(payload, at))]
        return self._changed(event, name_before)

    def _removed(self, event: DomainEvent) -> tuple[str, dict[str, Any]] | None:
        """What `event` deletes, as it is before the event: (the kind, its payload)."""
        match event:
            case MetadefNamespaceDeleted():
                return "metadef_namespace", self._namespace()
            case MetadefObjectDeleted(name=name):
                return "metadef_object", self._object(name)
            case MetadefPropertyDeleted(name=name):
                return "metadef_property", self._property(name)
            case MetadefTagDeleted(name=name):
                return "metadef_tag", self._tag(name)
            case MetadefResourceTypeDissociated(name=name):
                return "metadef_resource_type", self._resource_type(name)
        return None

    def _changed(self, event: DomainEvent, name_before: str) -> list[Notification]:
        match event:
            case MetadefNamespaceCreated():
                return [Notification("metadef_namespace.create", self._namespace())]
            case MetadefNamespaceUpdated():
                renamed = {**self._namespace(), "namespace_old": name_before}
                return [Notification("metadef_namespace.update", renamed)]
            case MetadefObjectsDeleted():
                return [Notification("metadef_namespace.delete_objects", self._namespace())]
            case MetadefPropertiesDeleted():
                return [Notification("metadef_namespace.delete_properties", self._namespace())]
            case MetadefTagsDeleted():
                return [Notification("metadef_namespace.delete_tags", self._namespace())]
            case MetadefTagsReplaced(names=names):
                return [Notification("metadef_tag.create", self._tag(name)) for name in names]
            case MetadefObjectCreated(definition=definition):
                return [Notification("metadef_object.create", self._object(definition.name))]
            case MetadefObjectUpdated(name=old, definition=definition):
                changed = {**self._object(definition.name), "name_old": old}
                return [Notification("metadef_object.update", changed)]
            case MetadefPropertyCreated(definition=definition):
                return [Notification("metadef_property.create", self._property(definition.name))]
            case MetadefPropertyUpdated(name=old, definition=definition):
                changed = {**self._property(definition.name), "name_old": old}
                return [Notification("metadef_property.update", changed)]
            case MetadefTagCreated(name=name):
                return [Notification("metadef_tag.create", self._tag(name))]
            case MetadefTagUpdated(name=old, new_name=name):
                return [Notification("metadef_tag.update", {**self._tag(name), "name_old": old})]
            case MetadefResourceTypeAssociated(name=name):
                created = self._resource_type(name)
                return [Notification("metadef_resource_type.create", created)]
        return []

    # -- payloads, as Glance's `format_metadef_*_notification` ---------------------------------

    def _namespace(self) -> dict[str, Any]:
        namespace = self.namespace
        return {
            "namespace": namespace.name,
            "namespace_old": namespace.name,
            "display_name": namespace.display_name,
            "protected": namespace.protected,
            "visibility": namespace.visibility,
            "owner": namespace.owner,
            "description": namespace.description,
            "created_at": isotime(namespace.created_at),
            "updated_at": isotime(namespace.updated_at),
            **_KEPT,
        }

    def _named(self, name: str) -> dict[str, Any]:
        """The fields every item of the namespace starts its payload with."""
        return {"namespace": self.namespace.name, "name": name, "name_old": name}

    def _object(self, name: str) -> dict[str, Any]:
        kept = self.namespace.objects[name]
        definition = kept.definition
        return {
            **self._named(name),
            # Glance's object payload gives every attribute of a property, falsy ones as null.
            "properties": [
                {"name": key, **{a: attributes.get(a) or None for a in NOTIFIED_ATTRIBUTES}}
                for key, attributes in definition.properties.items()
            ],
            "required": list(definition.required),
            "description": definition.description,
            "created_at": isotime(kept.created_at),
            "updated_at": isotime(kept.updated_at),
            **_KEPT,
        }

    def _property(self, name: str) -> dict[str, Any]:
        # Glance's property payload has no timestamps.
        attributes = self.namespace.properties[name].attributes
        return {
            **self._named(name),
            **{a: attributes.get(a) for a in NOTIFIED_ATTRIBUTES},
            **_KEPT,
        }

    def _tag(self, name: str) -> dict[str, Any]:
        tag = self.namespace.tags[name]
        return {
            **self._named(name),
            "created_at": isotime(tag.created_at),
            "updated_at": isotime(tag.updated_at),
            **_KEPT,
        }

    def _resource_type(self, name: str) -> dict[str, Any]:
        association = self.namespace.associations[name]
        return {
            **self._named(name),
            "prefix": association.prefix,
            "properties_target": association.properties_target,
            "created_at": isotime(association.created_at),
            "updated_at": isotime(association.updated_at),
            **_KEPT,
        }
