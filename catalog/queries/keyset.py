"""Keyset pages: the rows strictly after a marker row in a sort order over several keys.

A page costs the same deep in a list as at its start, since it starts from an index at the
marker's values instead of skipping what lies before it. Every list appends tie-breakers
(`created_at`, then `id`) so that the order is total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

Sort = tuple[tuple[str, str], ...]
"""(key, "asc" or "desc") pairs, the first the most significant."""
Expression = Callable[[str], sa.ColumnElement[Any]]
"""What a sort key orders by (a column, or an expression on it)."""

TIE_BREAKERS = ("created_at", "id")


def full_sort(sort: Sort, tie_direction: str = "desc") -> Sort:
    """`sort` followed by the tie-breakers it does not name, in `tie_direction`."""
    keys = [k for k, _ in sort]
    return (*sort, *((k, tie_direction) for k in TIE_BREAKERS if k not in keys))


def after(sort: Sort, marker: Mapping[Any, Any], expression: Expression) -> sa.ColumnElement[bool]:
    """Rows strictly after the marker's values (by key) in the sort order (lexicographic over
    the keys).

    The bound on the first key alone is implied by the rest, and is there for the planner: it
    lets the sort key's index start at the marker instead of at the beginning.
    """
    first_key, first_direction = sort[0]
    first, first_value = expression(first_key), marker[first_key]
    start = first >= first_value if first_direction == "asc" else first <= first_value
    alternatives = []
    for i, (key, direction) in enumerate(sort):
        equal_before = [expression(k) == marker[k] for k, _ in sort[:i]]
        value = marker[key]
        beyond = expression(key) > value if direction == "asc" else expression(key) < value
        alternatives.append(sa.and_(*equal_before, beyond))
    return sa.and_(start, sa.or_(*alternatives))


class MarkerNotFound(LookupError):
    """The marker names no row the caller may see (its argument: the marker as given)."""


def after_marker(
    conn: sa.Connection,
    sort: Sort,
    expression: Expression,
    marker: object,
    *where: sa.ColumnElement[bool],
) -> sa.ColumnElement[bool]:
    """Rows strictly after the marker row in the sort order (`after`), the marker row being
    the one `where` finds among those the caller may see; MarkerNotFound if there is none."""
    found = conn.execute(
        sa.select(*(expression(k).label(k) for k, _ in sort)).where(*where)
    ).first()
    if found is None:
        raise MarkerNotFound(str(marker))
    return after(sort, found._mapping, expression)


def ordered(sort: Sort, expression: Expression) -> list[sa.UnaryExpression[Any]]:
    """The ORDER BY of `sort`."""
    return [expression(k).asc() if d == "asc" else expression(k).desc() for k, d in sort]
