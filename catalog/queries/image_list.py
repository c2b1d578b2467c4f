"""Listing images: Glance's filters, visibility rules and sorting, all in one SQL query.

Pages use keyset pagination on the sort keys (`catalog/queries/keyset.py`), so a page costs the
same deep in the list as at its start. Nullable sort keys
compare as '' or 0, as Glance does, so NULLs have a place in the order.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from catalog.policy import Viewer
from catalog.projections.images import image, image_member, image_tag, sort_expression
from catalog.queries.images import HIDDEN_STATUSES, IMAGE_COLUMNS, ImageView, image_views
from catalog.queries.keyset import after_marker, full_sort, ordered

SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in")


@dataclass(frozen=True)
class Comparison:
    """`column op value`: op one of OPERATORS; for `in`, value is a tuple."""

    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class ListQuery:
    limit: int = 25
    marker: uuid.UUID | None = None
    comparisons: tuple[Comparison, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()
    visibility: str | None = None
    """None: Glance's default mix; or public, private, shared, community, all."""
    member_status: str = "accepted"
    os_hidden: bool = False
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)


def column_range(column: str) -> range:
    """The whole numbers a numeric column of the view holds, and so can be compared with: a
    value beyond them is an error to the database (PostgreSQL's integer types, SQLite's 64 bits)."""
    bits = 64 if isinstance(image.c[column].type, sa.BigInteger) else 32
    return range(-(2 ** (bits - 1)), 2 ** (bits - 1))


def _membership(viewer: Viewer, status: str) -> sa.ColumnElement[bool]:
    conditions = [image_member.c.image_id == image.c.id, image_member.c.member == viewer.project_id]
    if status != "all":
        conditions.append(image_member.c.status == status)
    return sa.exists().where(*conditions)


def visible_to(
    viewer: Viewer, visibility: str | None, member_status: str
) -> sa.ColumnElement[bool]:
    """Glance's database's list rules for `visibility` (None = the default view); the same
    images `catalog.policy.can_see` finds one by one."""
    v = image.c.visibility
    if viewer.is_admin:
        if visibility is None:
            return sa.or_(v != "community", image.c.owner == viewer.project_id)
        return sa.true() if visibility == "all" else v == visibility
    own = image.c.owner == viewer.project_id
    shared_with_me = sa.and_(v == "shared", _membership(viewer, member_status))
    if visibility is None:
        # Community images only when they are one's own (others ask for them by visibility).
        return sa.or_(own, image.c.owner.is_(None), v == "public", shared_with_me)
    if visibility == "all":
        return sa.or_(own, v.in_(("public", "community")), shared_with_me)
    if visibility in ("public", "community"):
        return v == visibility
    if visibility == "private":
        return sa.and_(v == "private", own)
    return sa.and_(v == "shared", sa.or_(own, _membership(viewer, member_status)))


_COMPARE = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _comparison(c: Comparison) -> sa.ColumnElement[bool]:
    column: sa.ColumnElement[Any] = image.c[c.column]
    if c.op == "in":
        return column.in_(c.value)
    condition: sa.ColumnElement[bool] = _COMPARE[c.op](column, c.value)
    return condition


def _property_equals(dialect: str, key: str, value: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        # Containment, so the GIN index on properties can answer it.
        document = sa.bindparam(None, {key: value}, type_=image.c.properties.type)
        condition: sa.ColumnElement[bool] = image.c.properties.op("@>")(document)
    else:
        condition = image.c.properties[key].as_string() == value
    return condition


def list_images(conn: sa.Connection, viewer: Viewer, query: ListQuery) -> list[ImageView]:
    """One page of the images the database layer finds for `viewer` (the policy then keeps
    those `get_image` lets the caller see)."""
    visible = visible_to(viewer, query.visibility, query.member_status)
    conditions: list[sa.ColumnElement[bool]] = [
        visible,
        image.c.status.not_in(HIDDEN_STATUSES),
        image.c.os_hidden.is_(query.os_hidden),
        *(_comparison(c) for c in query.comparisons),
        *(_property_equals(conn.dialect.name, k, v) for k, v in query.properties),
        *(
            sa.exists().where(image_tag.c.image_id == image.c.id, image_tag.c.tag == tag)
            for tag in query.tags
        ),
    ]
    sort = full_sort(query.sort)
    if query.marker is not None:
        where = (
            image.c.id == query.marker,
            image.c.status != "pending_delete",
            visible_to(viewer, "all", "all"),
        )
        conditions.append(after_marker(conn, sort, sort_expression, query.marker, *where))
    order = ordered(sort, sort_expression)
    rows = (
        conn.execute(
            sa.select(*IMAGE_COLUMNS).where(*conditions).order_by(*order).limit(query.limit)
        )
    ).all()
    return image_views(conn, rows)
