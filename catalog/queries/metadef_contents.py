"""What metadata definitions namespaces hold, from their views; the resource types.

Objects and associations come in the order they were made, properties by name, tags as asked
(newest first unless told otherwise), as Glance lists them. Shown for one resource type, a
namespace's properties carry the prefix of its association with that type (`prefixed`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from catalog.events.metadefs import PropertyDefinition
from catalog.metadefs.namespace import (
    Association,
    MetadefObject,
    MetadefTag,
    Namespace,
    tag_not_found,
)
from catalog.projections.metadefs import (
    metadef_object,
    metadef_property,
    metadef_resource_type,
    metadef_resource_type_association,
    metadef_tag,
)
from catalog.queries.keyset import after, ordered

TAG_SORT_KEYS = ("name", "created_at", "updated_at")
_TAG_ORDER = ("created_at", "position", "ordinal")
"""Ties in a tag sort key go by when, then in which order, tags were made (Glance's ids)."""


@dataclass(frozen=True)
class ObjectView:
    name: str
    description: str | None
    required: list[str]
    properties: dict[str, dict[str, Any]]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PropertyView:
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class TagView:
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AssociationView:
    name: str
    prefix: str | None
    properties_target: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ResourceTypeView:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class NamespaceContents:
    objects: list[ObjectView]
    properties: list[PropertyView]
    tags: list[TagView]
    associations: list[AssociationView]


@dataclass(frozen=True)
class TagQuery:
    limit: int | None = None
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"


def _columns(table: sa.Table, view: type[Any]) -> tuple[sa.Column[Any], ...]:
    return tuple(table.c[name] for name in view.__dataclass_fields__)


_OBJECT = _columns(metadef_object, ObjectView)
_PROPERTY = _columns(metadef_property, PropertyView)
_TAG = _columns(metadef_tag, TagView)
_ASSOCIATION = _columns(metadef_resource_type_association, AssociationView)


def objects_of(conn: sa.Connection, namespace_id: uuid.UUID) -> list[ObjectView]:
    query = sa.select(*_OBJECT).where(metadef_object.c.namespace_id == namespace_id)
    rows = conn.execute(query.order_by(metadef_object.c.position))
    return [ObjectView(**row._mapping) for row in rows]


def _named(
    conn: sa.Connection, columns: Sequence[sa.Column[Any]], namespace_id: uuid.UUID, name: str
) -> sa.RowMapping | None:
    """The row of the namespace's object, property or tag called `name`, if there is one."""
    table = columns[0].table
    row = conn.execute(
        sa.select(*columns).where(table.c.namespace_id == namespace_id, table.c.name == name)
    ).first()
    return None if row is None else row._mapping


def object_named(conn: sa.Connection, namespace_id: uuid.UUID, name: str) -> ObjectView | None:
    row = _named(conn, _OBJECT, namespace_id, name)
    return None if row is None else ObjectView(**row)


def properties_of(conn: sa.Connection, namespace_id: uuid.UUID) -> list[PropertyView]:
    query = sa.select(*_PROPERTY).where(metadef_property.c.namespace_id == namespace_id)
    rows = conn.execute(query.order_by(metadef_property.c.name))
    return [PropertyView(**row._mapping) for row in rows]


def property_named(conn: sa.Connection, namespace_id: uuid.UUID, name: str) -> PropertyView | None:
    row = _named(conn, _PROPERTY, namespace_id, name)
    return None if row is None else PropertyView(**row)


def _tag_expression(key: str) -> sa.ColumnElement[Any]:
    return metadef_tag.c[key]


def tags_of(
    conn: sa.Connection, namespace_id: uuid.UUID, query: TagQuery = TagQuery()
) -> list[TagView]:
    """A page of the namespace's tags, all of them without a limit."""
    keys = [query.sort_key, *(k for k in _TAG_ORDER if k != query.sort_key)]
    sort = tuple((key, query.sort_dir) for key in keys)
    conditions = [metadef_tag.c.namespace_id == namespace_id]
    if query.marker is not None:
        marker = conn.execute(
            sa.select(*(metadef_tag.c[k] for k, _ in sort)).where(
                metadef_tag.c.namespace_id == namespace_id, metadef_tag.c.name == query.marker
            )
        ).first()
        if marker is None:
            raise tag_not_found(query.marker)
        conditions.append(after(sort, marker._mapping, _tag_expression))
    select = sa.select(*_TAG).where(*conditions).order_by(*ordered(sort, _tag_expression))
    if query.limit is not None:
        select = select.limit(query.limit)
    return [TagView(**row._mapping) for row in conn.execute(select)]


def tag_named(conn: sa.Connection, namespace_id: uuid.UUID, name: str) -> TagView | None:
    row = _named(conn, _TAG, namespace_id, name)
    return None if row is None else TagView(**row)


def associations_of(
    conn: sa.Connection, namespace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AssociationView]]:
    """The resource type associations of each namespace, in the order they were made."""
    table = metadef_resource_type_association
    found: dict[uuid.UUID, list[AssociationView]] = {i: [] for i in namespace_ids}
    if not namespace_ids:
        return found
    rows = conn.execute(
        sa.select(table.c.namespace_id, *_ASSOCIATION)
        .where(table.c.namespace_id.in_(namespace_ids))
        .order_by(table.c.position)
    )
    for row in rows:
        values = dict(row._mapping)
        found[values.pop("namespace_id")].append(AssociationView(**values))
    return found


def contents_of(conn: sa.Connection, namespace_id: uuid.UUID) -> NamespaceContents:
    return NamespaceContents(
        objects=objects_of(conn, namespace_id),
        properties=properties_of(conn, namespace_id),
        tags=tags_of(conn, namespace_id),
        associations=associations_of(conn, [namespace_id])[namespace_id],
    )


def resource_types(conn: sa.Connection) -> list[ResourceTypeView]:
    """Every resource type ever associated with a namespace, in the order they came."""
    table = metadef_resource_type
    rows = conn.execute(sa.select(table.c.name, table.c.created_at).order_by(table.c.position))
    return [ResourceTypeView(**row._mapping) for row in rows]


def prefix_for(associations: Sequence[AssociationView], resource_type: str) -> str | None:
    """The prefix properties take when the namespace applies to `resource_type`, if any."""
    return next((a.prefix for a in associations if a.name == resource_type), None)


def prefixed(contents: NamespaceContents, prefix: str | None) -> NamespaceContents:
    """The namespace's properties, and its objects' (required ones too), under `prefix`."""
    if not prefix:
        return contents

    def under(names: Any) -> Any:
        return {prefix + name: value for name, value in names.items()}

    return replace(
        contents,
        properties=[replace(p, name=prefix + p.name) for p in contents.properties],
        objects=[
            replace(o, properties=under(o.properties), required=[prefix + r for r in o.required])
            for o in contents.objects
        ],
    )


def object_view(made: MetadefObject) -> ObjectView:
    """An object as a command left it."""
    definition = made.definition
    return ObjectView(
        name=definition.name,
        description=definition.description,
        required=list(definition.required),
        properties=definition.properties,
        created_at=made.created_at,
        updated_at=made.updated_at,
    )


def property_view(definition: PropertyDefinition) -> PropertyView:
    return PropertyView(definition.name, definition.attributes)


def tag_view(tag: MetadefTag) -> TagView:
    return TagView(tag.name, tag.created_at, tag.updated_at)


def association_view(made: Association) -> AssociationView:
    return AssociationView(
        made.name, made.prefix, made.properties_target, made.created_at, made.updated_at
    )


def contents_of_namespace(namespace: Namespace) -> NamespaceContents:
    """What a namespace holds as a command left it, in the order its views list it."""
    made = enumerate(namespace.tags.values())  # in the order they were made
    newest_first = [t for _, t in sorted(made, key=lambda m: (m[1].created_at, m[0]), reverse=True)]
    return NamespaceContents(
        objects=[object_view(o) for o in namespace.objects.values()],
        properties=[property_view(p) for _, p in sorted(namespace.properties.items())],
        tags=[tag_view(t) for t in newest_first],
        associations=[association_view(a) for a in namespace.associations.values()],
    )
