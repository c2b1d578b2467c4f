"""Reading the audit reads' parameters: `?as_of=` of show, and the history's page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from multidict import MultiMapping

from catalog.errors import BadRequest
from catalog.queries.image_history import HistoryQuery

HISTORY_LIMIT_DEFAULT = 100
HISTORY_LIMIT_MAX = 1000
INCLUDABLE = ("downloads",)

# RFC 3339's date-time: a full date and time with its offset. A space where the offset's sign
# goes is a `+` that came unencoded in a query string.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+\- ]\d{2}:\d{2})",
    re.ASCII,  # \d: ASCII digits only
)


def parse_rfc3339(raw: str) -> datetime | None:
    """The UTC time `raw` names, or None if it is not an RFC 3339 date-time."""
    if not _RFC3339.fullmatch(raw):
        return None
    text = raw.upper().replace("Z", "+00:00")
    if text[-6] == " ":
        text = text[:-6] + "+" + text[-5:]
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):  # impossible (month 13), or beyond year 1 to 9999 in UTC
        return None


def as_of_from(params: MultiMapping[str]) -> datetime | None:
    if "as_of" not in params:
        return None
    raw = params["as_of"]
    parsed = parse_rfc3339(raw)
    if parsed is None:
        raise BadRequest(
            f"Invalid as_of value: {raw}. It must be an RFC 3339 time,"
            " such as 2026-01-02T03:04:05Z."
        )
    return parsed


def history_query(params: MultiMapping[str]) -> HistoryQuery:
    include = [name.strip() for name in params.get("include", "").split(",") if name.strip()]
    for name in include:
        if name not in INCLUDABLE:
            raise BadRequest(f"Invalid include value: {name}")
    return HistoryQuery(after=_marker(params), limit=_limit(params), downloads=bool(include))


def _limit(params: MultiMapping[str]) -> int:
    if "limit" not in params:
        return HISTORY_LIMIT_DEFAULT
    try:
        limit = int(params["limit"])
    except ValueError as e:
        raise BadRequest("limit param must be an integer") from e
    if limit < 1:
        raise BadRequest("limit param must be positive")
    return min(limit, HISTORY_LIMIT_MAX)


_POSITION = re.compile(r"[0-9]{1,18}")  # positions are 64-bit; 18 digits always fit


def _marker(params: MultiMapping[str]) -> int:
    raw = params.get("marker", "0")
    if not _POSITION.fullmatch(raw):
        raise BadRequest(f"Invalid marker: {raw}. It is the position of an event in the history.")
    return int(raw)
