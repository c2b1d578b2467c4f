"""Metadata definitions namespaces from their view: one by name, a page of them, and whether a
name is free."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from catalog.claims import NamespaceNameClaim
from catalog.errors import Conflict
from catalog.metadefs.namespace import Namespace
from catalog.policy import Viewer
from catalog.projections.metadefs import metadef_namespace as ns
from catalog.projections.metadefs import metadef_resource_type_association as association
from catalog.queries.keyset import after_marker, full_sort, ordered

SORT_KEYS = (
    "namespace",
    "display_name",
    "description",
    "visibility",
    "protected",
    "owner",
    "created_at",
    "updated_at",
    "id",
)
_MAY_BE_NULL = ("display_name", "description", "owner")


@dataclass(frozen=True)
class NamespaceView:
    id: uuid.UUID
    namespace: str
    display_name: str | None
    description: str | None
    visibility: str
    protected: bool
    owner: str | None
    created_at: datetime
    updated_at: datetime


_COLUMNS = tuple(ns.c[name] for name in NamespaceView.__dataclass_fields__)


@dataclass(frozen=True)
class NamespaceListQuery:
    limit: int = 25
    marker: str | None = None
    """The name of the namespace the previous page ended with."""
    sort_key: str = "created_at"
    sort_dir: str = "desc"
    visibility: str | None = None
    resource_types: tuple[str, ...] = ()
    """Only namespaces associated with one of these."""


def find_namespace(conn: sa.Connection, name: str) -> NamespaceView | None:
    row = conn.execute(sa.select(*_COLUMNS).where(ns.c.namespace == name)).first()
    return None if row is None else NamespaceView(**row._mapping)


def stream_of(conn: sa.Connection, name: str) -> uuid.UUID | None:
    """The stream of the namespace called `name`, if there is one."""
    found: uuid.UUID | None = conn.execute(
        sa.select(ns.c.id).where(ns.c.namespace == name)
    ).scalar_one_or_none()
    return found


def enforce_namespace_name(conn: sa.Connection, claim: NamespaceNameClaim) -> None:
    """`Conflict` if another namespace has the claimed name, checked after every earlier
    claim of that name has committed: on PostgreSQL a transaction lock per name orders them
    (SQLite has one writer, which orders everything)."""
    if conn.dialect.name == "postgresql":
        key = sa.func.hashtext("metadef_namespace:" + claim.name)
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    taken = sa.select(ns.c.id).where(ns.c.namespace == claim.name, ns.c.id != claim.holder)
    if conn.execute(taken.limit(1)).first() is not None:
        raise Conflict(claim.refusal)


def _visible_to(viewer: Viewer) -> sa.ColumnElement[bool]:
    """The namespaces Glance's database finds for the caller (`catalog.policy.can_see`)."""
    if viewer.is_admin:
        return sa.true()
    return sa.or_(
        ns.c.visibility == "public", ns.c.owner.is_(None), ns.c.owner == viewer.project_id
    )


def _sort_expression(key: str) -> sa.ColumnElement[Any]:
    if key == "id":  # Glance's ids count up as namespaces are made: the order they came in
        return ns.c.position
    if key in _MAY_BE_NULL:  # so that NULLs have a place, the same on both databases
        return sa.func.coalesce(ns.c[key], "")
    return ns.c[key]


def list_namespaces(
    conn: sa.Connection, viewer: Viewer, query: NamespaceListQuery
) -> list[NamespaceView]:
    """One page of the namespaces the database layer finds for `viewer` (the policy then
    keeps those `get_metadef_namespace` lets the caller see)."""
    conditions = [_visible_to(viewer)]
    if query.visibility is not None:
        conditions.append(ns.c.visibility == query.visibility)
    if query.resource_types:
        conditions.append(
            sa.exists().where(
                association.c.namespace_id == ns.c.id,
                association.c.name.in_(query.resource_types),
            )
        )
    sort = full_sort(((query.sort_key, query.sort_dir),), query.sort_dir)
    if query.marker is not None:
        where = (ns.c.namespace == query.marker, _visible_to(viewer))
        conditions.append(after_marker(conn, sort, _sort_expression, query.marker, *where))
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(*conditions)
        .order_by(*ordered(sort, _sort_expression))
        .limit(query.limit)
    )
    return [NamespaceView(**row._mapping) for row in rows]


def view_of_namespace(namespace: Namespace) -> NamespaceView:
    """The view of a namespace as a command left it (no read back needed to answer)."""
    assert namespace.created_at is not None
    assert namespace.updated_at is not None
    return NamespaceView(
        id=namespace.id,
        namespace=namespace.name,
        display_name=namespace.display_name,
        description=namespace.description,
        visibility=namespace.visibility,
        protected=namespace.protected,
        owner=namespace.owner,
        created_at=namespace.created_at,
        updated_at=namespace.updated_at,
    )
