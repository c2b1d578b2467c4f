"""Reading `?as_of=` and the history's page parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import MultiDict

from catalog.errors import BadRequest
from catalog.queries.image_history import HistoryQuery
from infra.http.history_params import history_query, parse_rfc3339


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-02T03:04:05Z",
        "2026-01-02t03:04:05z",
        "2026-01-02T04:04:05+01:00",
        "2026-01-02T04:04:05 01:00",  # a `+` that came unencoded in a query string
        "2026-01-02T02:04:05-01:00",
    ],
)
def test_rfc3339_times_name_a_moment_in_utc(text: str) -> None:
    assert parse_rfc3339(text) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_fractions_of_a_second_are_kept_to_the_microsecond() -> None:
    moment = parse_rfc3339("2026-01-02T03:04:05.123456789Z")
    assert moment == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-02T03:04:05",
        "2026-01-02",
        "2026-02-30T00:00:00Z",
        "2026-01-01T00:00:60Z",
        "2026-01-01T00:00:00+24:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "２０２６-01-02T03:04:05Z",
    ],
)
def test_anything_else_is_no_time(text: str) -> None:
    assert parse_rfc3339(text) is None


def test_a_history_page_by_default_and_as_asked() -> None:
    assert history_query(MultiDict()) == HistoryQuery(after=0, limit=100, downloads=False)
    asked = MultiDict(limit="5000", marker="42", include="downloads")
    assert history_query(asked) == HistoryQuery(after=42, limit=1000, downloads=True)


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "1.5"}, {"marker": "x"}, {"marker": "²"}, {"include": "x"}],
)
def test_bad_page_parameters_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        history_query(MultiDict(params))
