"""The events of a metadata definitions namespace: the namespace itself and what it holds.

One stream per namespace holds its objects, properties, tags and resource type associations,
so that a namespace and its contents change together (deleting a namespace deletes them, a
protected namespace protects them). Objects, properties and tags are named within their
namespace; an update names what it changes by its name before the change.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from catalog.events.base import DomainEvent


class MetadefEvent(DomainEvent):
    """An event of a metadata definitions namespace's stream."""

    aggregate = "metadefs"


class ObjectDefinition(BaseModel):
    """A metadata object: a named group of property definitions, some of them required."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str | None = None
    required: tuple[str, ...] = ()
    properties: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Property name -> its definition (see `PropertyDefinition.attributes`)."""


class PropertyDefinition(BaseModel):
    """A property definition: a name and the JSON-schema-like attributes Glance keeps for it
    (`type`, `title`, `enum`, ...), as `catalog.metadefs.definitions` normalises them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    attributes: dict[str, Any]


class NamespaceFields(MetadefEvent):
    """A namespace's own fields (not an event of its own: those below carry them)."""

    namespace: str
    display_name: str | None = None
    description: str | None = None
    visibility: str = "private"
    protected: bool = False
    owner: str | None = None


class MetadefNamespaceCreated(NamespaceFields):
    event_type = "metadef_namespace.created"


class MetadefNamespaceUpdated(NamespaceFields):
    """The namespace's own fields, all of them as they are now (a rename too)."""

    event_type = "metadef_namespace.updated"


class MetadefNamespaceDeleted(MetadefEvent):
    """The namespace is gone, and everything it held with it."""

    event_type = "metadef_namespace.deleted"


class MetadefObjectsDeleted(MetadefEvent):
    event_type = "metadef_namespace.objects_deleted"


class MetadefPropertiesDeleted(MetadefEvent):
    event_type = "metadef_namespace.properties_deleted"


class MetadefTagsDeleted(MetadefEvent):
    event_type = "metadef_namespace.tags_deleted"


class MetadefTagsReplaced(MetadefEvent):
    """Every tag of the namespace was replaced by these, in this order."""

    event_type = "metadef_namespace.tags_replaced"

    names: tuple[str, ...]


class MetadefObjectCreated(MetadefEvent):
    event_type = "metadef_object.created"

    definition: ObjectDefinition


class MetadefObjectUpdated(MetadefEvent):
    """The object called `name` is now `definition` (which may give it another name)."""

    event_type = "metadef_object.updated"

    name: str
    definition: ObjectDefinition


class MetadefObjectDeleted(MetadefEvent):
    event_type = "metadef_object.deleted"

    name: str


class MetadefPropertyCreated(MetadefEvent):
    event_type = "metadef_property.created"

    definition: PropertyDefinition


class MetadefPropertyUpdated(MetadefEvent):
    """The property called `name` is now `definition` (which may give it another name)."""

    event_type = "metadef_property.updated"

    name: str
    definition: PropertyDefinition


class MetadefPropertyDeleted(MetadefEvent):
    event_type = "metadef_property.deleted"

    name: str


class MetadefTagCreated(MetadefEvent):
    event_type = "metadef_tag.created"

    name: str


class MetadefTagUpdated(MetadefEvent):
    """The tag called `name` is now called `new_name`."""

    event_type = "metadef_tag.updated"

    name: str
    new_name: str


class MetadefTagDeleted(MetadefEvent):
    event_type = "metadef_tag.deleted"

    name: str


class MetadefResourceTypeAssociated(MetadefEvent):
    """The namespace applies to resources of type `name` (a resource type that did not exist
    yet exists from now on): their properties carry `prefix`, in `properties_target`."""

    event_type = "metadef_resource_type.associated"

    name: str
    prefix: str | None = None
    properties_target: str | None = None


class MetadefResourceTypeDissociated(MetadefEvent):
    event_type = "metadef_resource_type.dissociated"

    name: str


METADEF_EVENTS: tuple[type[MetadefEvent], ...] = (
    MetadefNamespaceCreated,
    MetadefNamespaceUpdated,
    MetadefNamespaceDeleted,
    MetadefObjectsDeleted,
    MetadefPropertiesDeleted,
    MetadefTagsDeleted,
    MetadefTagsReplaced,
    MetadefObjectCreated,
    MetadefObjectUpdated,
    MetadefObjectDeleted,
    MetadefPropertyCreated,
    MetadefPropertyUpdated,
    MetadefPropertyDeleted,
    MetadefTagCreated,
    MetadefTagUpdated,
    MetadefTagDeleted,
    MetadefResourceTypeAssociated,
    MetadefResourceTypeDissociated,
)
