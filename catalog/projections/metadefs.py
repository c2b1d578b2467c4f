"""The metadata definitions views: namespaces, what each holds, and the resource types.

One row per live namespace (`metadef_namespace`), its objects, properties, tags and resource
type associations in tables of their own, keyed by the namespace's stream, and one row per
resource type ever associated with a namespace (`metadef_resource_type`: Glance keeps those
when their last association goes, and lists them).

Every change of a namespace is guarded by its row's version, as the images view's: an event
applies only to a row older than it. Rows remember the place in the log of the event that
made them (`position`, and `ordinal` within it for tags made together): Glance lists
objects, associations and tags in the order they were made, and namespaces made at the same
time in that order too. A resource type keeps the first association that made it, in log
order, whichever order a rebuild replays the streams in.

Namespace names are unique among live namespaces, but not by a constraint of this view: a
rebuild replays stream by stream, where a name given up by one namespace and taken by another
may meet. The appending transaction checks it (`catalog/queries/claims.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from catalog.events import DomainEvent, MetadefEvent, RecordedEvent, ReplayEvent
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
)
from catalog.projections.base import BatchWrite, RowInserter
from catalog.projections.schema import JsonDocument, UtcDateTime, insert_or_ignore, metadata

NAME = sa.String(80)

metadef_namespace = sa.Table(
    "metadef_namespace",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("namespace", NAME, nullable=False),
    sa.Column("display_name", NAME),
    sa.Column("description", sa.Text),
    sa.Column("visibility", sa.String(32), nullable=False),
    sa.Column("protected", sa.Boolean, nullable=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "namespace"),
    sa.Index(None, "created_at", "position"),
)

metadef_object = sa.Table(
    "metadef_object",
    metadata,
    sa.Column("namespace_id", sa.Uuid, primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("description", sa.Text),
    sa.Column("required", JsonDocument, nullable=False),
    sa.Column("properties", JsonDocument, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

metadef_property = sa.Table(
    "metadef_property",
    metadata,
    sa.Column("namespace_id", sa.Uuid, primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("attributes", JsonDocument, nullable=False),
)

metadef_tag = sa.Table(
    "metadef_tag",
    metadata,
    sa.Column("namespace_id", sa.Uuid, primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
)

metadef_resource_type_association = sa.Table(
    "metadef_resource_type_association",
    metadata,
    sa.Column("namespace_id", sa.Uuid, primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("prefix", NAME),
    sa.Column("properties_target", NAME),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index(None, "name"),
)

metadef_resource_type = sa.Table(
    "metadef_resource_type",
    metadata,
    sa.Column("name", NAME, primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

TABLES = (
    metadef_namespace,
    metadef_object,
    metadef_property,
    metadef_tag,
    metadef_resource_type_association,
    metadef_resource_type,
)
CONTENTS = (metadef_object, metadef_property, metadef_tag, metadef_resource_type_association)


class MetadefsProjection:
    name: str = "metadefs"
    tables: tuple[sa.Table, ...] = TABLES

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        if isinstance(event, MetadefEvent):
            _apply(conn, _Tables.live(), _At.of(recorded), event)

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        *,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> BatchWrite:
        # Metadata definitions change seldom: event by event, as inline, all in the write
        # (resource types are shared between namespaces: a new stream may find its rows, and
        # the write of the batch before may just have made them).
        into = _Tables.live(tables)
        changes = [(_At.of(e), e.event) for e in events if isinstance(e.event, MetadefEvent)]

        def write(conn: sa.Connection, insert: RowInserter) -> None:
            for at, event in changes:
                _apply(conn, into, at, event)

        return write


@dataclass(frozen=True)
class _At:
    """Where an event sits: its namespace's stream and version, its place in the log, when."""

    namespace_id: uuid.UUID
    version: int
    position: int
    occurred_at: datetime

    @classmethod
    def of(cls, event: RecordedEvent | ReplayEvent) -> _At:
        return cls(event.stream_id, event.version, event.position, event.occurred_at)


@dataclass(frozen=True)
class _Tables:
    """The tables written: the live ones, or a rebuild's stand-ins for them."""

    namespaces: sa.Table
    objects: sa.Table
    properties: sa.Table
    tags: sa.Table
    associations: sa.Table
    resource_types: sa.Table

    @classmethod
    def live(cls, tables: Mapping[str, sa.Table] | None = None) -> _Tables:
        return cls(*((tables or {}).get(t.name, t) for t in TABLES))

    @property
    def contents(self) -> tuple[sa.Table, ...]:
        return (self.objects, self.properties, self.tags, self.associations)


def _apply(conn: sa.Connection, t: _Tables, at: _At, event: MetadefEvent) -> None:
    if isinstance(event, MetadefNamespaceCreated):
        row = {**event.model_dump(), "id": at.namespace_id, "created_at": at.occurred_at}
        row.update(updated_at=at.occurred_at, position=at.position, version=at.version)
        conn.execute(insert_or_ignore(t.namespaces, "id"), row)
        return
    fields: dict[str, Any] = {}
    if isinstance(event, MetadefNamespaceUpdated):
        fields = {**event.model_dump(), "updated_at": at.occurred_at}
    guarded = (
        sa.update(t.namespaces)
        .where(t.namespaces.c.id == at.namespace_id, t.namespaces.c.version < at.version)
        .values(version=at.version, **fields)
    )
    if conn.execute(guarded).rowcount == 1:
        _change_contents(conn, t, at, event)


def _change_contents(conn: sa.Connection, t: _Tables, at: _At, event: MetadefEvent) -> None:
    ns = at.namespace_id
    match event:
        case MetadefNamespaceDeleted():
            for table in t.contents:
                conn.execute(sa.delete(table).where(table.c.namespace_id == ns))
            conn.execute(sa.delete(t.namespaces).where(t.namespaces.c.id == ns))
        case MetadefObjectsDeleted() | MetadefPropertiesDeleted() | MetadefTagsDeleted():
            table = {
                MetadefObjectsDeleted: t.objects,
                MetadefPropertiesDeleted: t.properties,
                MetadefTagsDeleted: t.tags,
            }[type(event)]
            conn.execute(sa.delete(table).where(table.c.namespace_id == ns))
        case MetadefObjectCreated():
            row = {**_object_row(event.definition), "namespace_id": ns, "position": at.position}
            conn.execute(sa.insert(t.objects), _timed(row, at, created=True))
        case MetadefObjectUpdated():
            _update(conn, t.objects, ns, event.name, _timed(_object_row(event.definition), at))
        case MetadefPropertyCreated():
            row = {"namespace_id": ns, "name": event.definition.name}
            conn.execute(
                sa.insert(t.properties), {**row, "attributes": event.definition.attributes}
            )
        case MetadefPropertyUpdated():
            values = {"name": event.definition.name, "attributes": event.definition.attributes}
            _update(conn, t.properties, ns, event.name, values)
        case MetadefTagCreated():
            _insert_tags(conn, t.tags, at, (event.name,))
        case MetadefTagsReplaced():
            conn.execute(sa.delete(t.tags).where(t.tags.c.namespace_id == ns))
            _insert_tags(conn, t.tags, at, event.names)
        case MetadefTagUpdated():
            _update(conn, t.tags, ns, event.name, _timed({"name": event.new_name}, at))
        case MetadefObjectDeleted() | MetadefPropertyDeleted() | MetadefTagDeleted():
            table = {
                MetadefObjectDeleted: t.objects,
                MetadefPropertyDeleted: t.properties,
                MetadefTagDeleted: t.tags,
            }[type(event)]
            conn.execute(sa.delete(table).where(*_named(table, ns, event.name)))
        case MetadefResourceTypeAssociated():
            row = {"namespace_id": ns, "name": event.name, "prefix": event.prefix}
            row.update(properties_target=event.properties_target, position=at.position)
            conn.execute(sa.insert(t.associations), _timed(row, at, created=True))
            first = {"name": event.name, "created_at": at.occurred_at, "position": at.position}
            conn.execute(_first_association(t.resource_types), first)
        case MetadefResourceTypeDissociated():
            conn.execute(sa.delete(t.associations).where(*_named(t.associations, ns, event.name)))


def _object_row(definition: ObjectDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json")


def _timed(row: dict[str, Any], at: _At, *, created: bool = False) -> dict[str, Any]:
    times = {"updated_at": at.occurred_at}
    if created:
        times["created_at"] = at.occurred_at
    return {**row, **times}


def _named(table: sa.Table, namespace_id: uuid.UUID, name: str) -> tuple[Any, ...]:
    return table.c.namespace_id == namespace_id, table.c.name == name


def _update(
    conn: sa.Connection, table: sa.Table, namespace_id: uuid.UUID, name: str, values: Any
) -> None:
    conn.execute(sa.update(table).where(*_named(table, namespace_id, name)).values(**values))


def _insert_tags(conn: sa.Connection, table: sa.Table, at: _At, names: Sequence[str]) -> None:
    rows = [
        _timed(
            {"namespace_id": at.namespace_id, "name": n, "position": at.position, "ordinal": i},
            at,
            created=True,
        )
        for i, n in enumerate(names)
    ]
    conn.execute(sa.insert(table), rows)


def _first_association(table: sa.Table) -> sa.TextClause:
    """Make the resource type, or give it this association's time and place if it came
    earlier in the log than the one it has (a rebuild replays stream by stream)."""
    return sa.text(
        f"INSERT INTO {table.name} (name, created_at, position)"
        " VALUES (:name, :created_at, :position)"
        " ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at,"
        f" position = excluded.position WHERE excluded.position < {table.name}.position"
    ).bindparams(
        sa.bindparam("name", type_=table.c.name.type),
        sa.bindparam("created_at", type_=table.c.created_at.type),
        sa.bindparam("position", type_=table.c.position.type),
    )
