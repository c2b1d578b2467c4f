"""Listing images: Glance's filters, visibility rules and sorting, all in one SQL query.

Pages use keyset pagination on the sort keys (with `created_at` and `id` always appended as
tie-breakers), so a page costs the same deep in the list as at its start. Nullable sort keys
compare as '' or 0, as Glance does, so NULLs have a place in the order.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from catalog.identity import Actor
from catalog.projections.images import image, image_member, image_tag
from catalog.queries.images import IMAGE_COLUMNS, ImageView, image_views

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
_NULL_AS = {"name": "", "container_format": "", "disk_format": "", "size": 0}
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


class MarkerNotFound(LookupError):
    pass


def _sort_expression(key: str) -> sa.ColumnElement[Any]:
    column = image.c[key]
    if key in _NULL_AS:
        return sa.func.coalesce(column, _NULL_AS[key])
    return column


def _membership(actor: Actor, status: str) -> sa.ColumnElement[bool]:
    conditions = [image_member.c.image_id == image.c.id, image_member.c.member == actor.project_id]
    if status != "all":
        conditions.append(image_member.c.status == status)
    return sa.exists().where(*conditions)


def visible_to(actor: Actor, visibility: str | None, member_status: str) -> sa.ColumnElement[bool]:
    """Glance's list rules for `visibility` (None = the default view)."""
    v = image.c.visibility
    if actor.is_admin:
        if visibility is None:
            return sa.or_(v != "community", image.c.owner == actor.project_id)
        return sa.true() if visibility == "all" else v == visibility
    own = image.c.owner == actor.project_id
    shared_with_me = sa.and_(v == "shared", _membership(actor, member_status))
    if visibility is None:
        # Community images only when they are one's own (others ask for them by visibility).
        return sa.or_(own, image.c.owner.is_(None), v == "public", shared_with_me)
    if visibility == "all":
        return sa.or_(own, v.in_(("public", "community")), shared_with_me)
    if visibility in ("public", "community"):
        return v == visibility
    if visibility == "private":
        return sa.and_(v == "private", own)
    return sa.and_(v == "shared", sa.or_(own, _membership(actor, member_status)))


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


def _after(sort: tuple[tuple[str, str], ...], marker: sa.Row[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after the marker in the sort order (lexicographic over the keys)."""
    alternatives = []
    for i, (key, direction) in enumerate(sort):
        equal_before = [_sort_expression(k) == marker._mapping[k] for k, _ in sort[:i]]
        expression, value = _sort_expression(key), marker._mapping[key]
        beyond = expression > value if direction == "asc" else expression < value
        alternatives.append(sa.and_(*equal_before, beyond))
    return sa.or_(*alternatives)


def full_sort(sort: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    keys = [k for k, _ in sort]
    tie_breakers = tuple((k, "desc") for k in ("created_at", "id") if k not in keys)
    return (*sort, *tie_breakers)


def list_images(conn: sa.Connection, actor: Actor, query: ListQuery) -> list[ImageView]:
    visible = visible_to(actor, query.visibility, query.member_status)
    conditions: list[sa.ColumnElement[bool]] = [
        visible,
        image.c.status != "killed",
        image.c.os_hidden.is_(query.os_hidden),
        *(_comparison(c) for c in query.comparisons),
        *(image.c.properties[k].as_string() == v for k, v in query.properties),
        *(
            sa.exists().where(image_tag.c.image_id == image.c.id, image_tag.c.tag == tag)
            for tag in query.tags
        ),
    ]
    sort = full_sort(query.sort)
    if query.marker is not None:
        marker = (
            conn.execute(
                sa.select(*(_sort_expression(k).label(k) for k, _ in sort)).where(
                    image.c.id == query.marker, visible_to(actor, "all", "all")
                )
            )
        ).first()
        if marker is None:
            raise MarkerNotFound(str(query.marker))
        conditions.append(_after(sort, marker))
    order = [
        _sort_expression(k).asc() if d == "asc" else _sort_expression(k).desc() for k, d in sort
    ]
    rows = (
        conn.execute(
            sa.select(*IMAGE_COLUMNS).where(*conditions).order_by(*order).limit(query.limit)
        )
    ).all()
    return image_views(conn, rows)
