"""Reading `GET /v2/images` parameters into a `ListQuery`, with Glance's rules and messages;
what every list reads (`limit`, a sort direction) and links to (its first and next pages)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from multidict import MultiMapping

from catalog.errors import BadRequest
from catalog.queries.image_list import SORT_KEYS, Comparison, ListQuery, column_range

LIMIT_DEFAULT = 25
LIMIT_MAX = 1000
VISIBILITIES = ("community", "public", "private", "shared", "all")
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")
IN_OR_EQUAL = ("name", "id", "status", "container_format", "disk_format")
TIMES = ("created_at", "updated_at")
NUMBERS = ("size", "virtual_size", "min_ram", "min_disk")
EQUAL = ("owner", "checksum", "os_hash_algo", "os_hash_value")
BOOLEANS = ("protected",)
NOT_FILTERS = frozenset(
    {
        "limit",
        "marker",
        "member_status",
        "tag",
        "sort",
        "sort_key",
        "sort_dir",
        "visibility",
        "os_hidden",
    }
)


def list_query(params: MultiMapping[str]) -> ListQuery:
    if "changes-since" in params:
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    visibility = params.get("visibility") or None
    if visibility is not None and visibility not in VISIBILITIES:
        raise BadRequest(f"Invalid visibility value: {visibility}")
    member_status = params.get("member_status", "accepted")
    if member_status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status: {member_status}")
    keys = list(dict.fromkeys(params))  # each name once, in the order given
    return ListQuery(
        limit=limit_from(params),
        marker=_marker(params),
        comparisons=tuple(
            c for key in keys if key not in NOT_FILTERS for c in _comparisons(key, params[key])
        ),
        properties=tuple((key, params[key]) for key in keys if _is_property(key)),
        tags=tuple(t.strip() for t in params.getall("tag", [])),
        visibility=visibility,
        member_status=member_status,
        os_hidden=_boolean("os_hidden", params.get("os_hidden", "false")),
        sort=_sort(params),
    )


def limit_from(params: MultiMapping[str]) -> int:
    """`limit`, as Glance reads it for every list: 25 by default, at most 1000."""
    if "limit" not in params:
        return LIMIT_DEFAULT
    try:
        limit = int(params["limit"])
    except ValueError as e:
        raise BadRequest("limit param must be an integer") from e
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, LIMIT_MAX)


def page_links(path: str, params: MultiMapping[str], next_marker: str | None) -> dict[str, str]:
    """A list page's `first` link (`path` with the request's parameters but its marker) and, if
    there is more, its `next` (the same, from `next_marker`)."""
    kept = [(k, v) for k, v in params.items() if k != "marker"]
    links = {"first": path + (f"?{urlencode(kept)}" if kept else "")}
    if next_marker is not None:
        links["next"] = f"{path}?" + urlencode([*kept, ("marker", next_marker)])
    return links


def _marker(params: MultiMapping[str]) -> uuid.UUID | None:
    if "marker" not in params:
        return None
    try:
        return uuid.UUID(params["marker"])
    except ValueError as e:
        raise BadRequest(f"No image found with ID {params['marker']}") from e


def _is_property(key: str) -> bool:
    known = (*IN_OR_EQUAL, *TIMES, *NUMBERS, *EQUAL, *BOOLEANS)
    return key not in NOT_FILTERS and key not in known and not _range_column(key)


def _range_column(key: str) -> str | None:
    for suffix in ("_min", "_max"):
        if key.endswith(suffix) and key[: -len(suffix)] in NUMBERS:
            return key[: -len(suffix)]
    return None


def _comparisons(key: str, value: str) -> list[Comparison]:
    if key in IN_OR_EQUAL:
        op, operand = _split_operator(value)
        if op not in ("in", "eq"):
            raise BadRequest(f"Unable to filter by unknown operator '{op}'.")
        values = _split_quoted(operand) if op == "in" else [operand]
        if key == "id":
            return [Comparison(key, "in", _image_ids(values))]
        return [Comparison(key, op, tuple(values) if op == "in" else operand)]
    if key in TIMES:
        op, operand = _split_operator(value)
        if op not in ("eq", "neq", "gt", "gte", "lt", "lte"):
            raise BadRequest("Unable to filter on a unknown operator.")
        return [Comparison(key, op, _time(key, operand))]
    if (column := _range_column(key)) is not None:
        try:
            number = int(value)
        except ValueError as e:
            raise BadRequest("Unable to filter on a range with a non-numeric value.") from e
        op = "gte" if key.endswith("_min") else "lte"
        return [Comparison(column, op, _in_column_range(key, column, number))]
    if key in NUMBERS:
        try:
            number = int(value)
        except ValueError as e:
            raise BadRequest(f"Unable to filter on {key} with a non-numeric value.") from e
        return [Comparison(key, "eq", _in_column_range(key, key, number))]
    if key in BOOLEANS:
        return [Comparison(key, "eq", _boolean(key, value))]
    if key in EQUAL:
        return [Comparison(key, "eq", value)]
    return []


def _in_column_range(key: str, column: str, number: int) -> int:
    holds = column_range(column)
    if number not in holds:
        raise BadRequest(
            f"Unable to filter on {key}: the value must be from {holds.start} to {holds.stop - 1}."
        )
    return number


def _image_ids(values: list[str]) -> tuple[uuid.UUID, ...]:
    """The ids among `values`; one that is not a UUID names no image, so it matches nothing
    (as an unknown id does: Glance answers both with an empty list)."""
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return tuple(ids)


def _split_operator(expression: str) -> tuple[str, str]:
    """`op:value`, or `eq` when there is no operator (or the whole thing is a timestamp)."""
    left, sep, right = expression.partition(":")
    if not sep or _parse_time(expression) is not None:
        return "eq", expression
    return left, right


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)",?|([^,]+),?|,')


def _split_quoted(value: str) -> list[str]:
    """`a,"b, c",d` -> ['a', 'b, c', 'd']; quotes must open after a comma and close before one."""
    opened = False
    for i, char in enumerate(value):
        if char != '"' or (i and value[i - 1] == "\\"):
            continue
        if not opened and i and value[i - 1] != ",":
            raise BadRequest(
                f"Invalid filter value {value}. There is no comma before opening quotation mark."
            )
        if opened and i + 1 != len(value) and value[i + 1] != ",":
            raise BadRequest(
                f"Invalid filter value {value}. There is no comma after closing quotation mark."
            )
        opened = not opened
    if opened:
        raise BadRequest(f"Invalid filter value {value}. The quote is not closed.")
    return [quoted or plain for quoted, plain in _QUOTED.findall(value)]


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _time(key: str, value: str) -> datetime:
    parsed = _parse_time(value)
    if parsed is None:
        raise BadRequest(f'Bad "{key}" query filter format. Use ISO 8601 DateTime notation.')
    return parsed


def _boolean(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value for {key}: {value}. It must be true or false.")


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise BadRequest(
            f"Invalid sort key: {key}. It must be one of the following: {', '.join(SORT_KEYS)}."
        )
    return key


def sort_direction(direction: str) -> str:
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    return direction


def _sort(params: MultiMapping[str]) -> tuple[tuple[str, str], ...]:
    if "sort" in params:
        if "sort_key" in params or "sort_dir" in params:
            raise BadRequest("Old and new sorting syntax cannot be combined")
        pairs = []
        for item in params["sort"].strip().split(","):
            key, _, direction = item.partition(":")
            pairs.append((_sort_key(key.strip()), sort_direction(direction.strip() or "desc")))
        return tuple(pairs)
    keys = [_sort_key(k.strip()) for k in params.getall("sort_key", [])] or ["created_at"]
    dirs = [sort_direction(d.strip()) for d in params.getall("sort_dir", [])] or ["desc"]
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise BadRequest("Number of sort dirs does not match the number of sort keys")
    if len(dirs) == 1:
        dirs = dirs * len(keys)
    return tuple(zip(keys, dirs, strict=True))
