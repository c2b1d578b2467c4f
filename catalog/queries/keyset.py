"""Keyset pages: the rows strictly after a marker row in a sort order over several keys.

A page then costs the same deep in a list as at its start. Lists append tie-breakers to the
client's keys so that the order is total, and the marker is the row the last page ended on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

Sort = tuple[tuple[str, str], ...]
"""(key, "asc" or "desc"), the first key first."""


def ordered_by(
    sort: Sort, expression: Callable[[str], sa.ColumnElement[Any]]
) -> list[sa.UnaryExpression[Any]]:
    """ORDER BY for `sort`, each key read by `expression`."""
    return [expression(k).asc() if d == "asc" else expression(k).desc() for k, d in sort]


def after(
    sort: Sort, marker: Mapping[Any, Any], expression: Callable[[str], sa.ColumnElement[Any]]
) -> sa.ColumnElement[bool]:
    """Rows strictly after `marker` (its value of each key) in the order of `sort`
    (lexicographic over the keys).

    The bound on the first key alone is implied by the rest, and is there for the planner: it
    lets the first key's index start at the marker instead of at the beginning.
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
