"""A database outage is told once when it starts and once when it ends, however many callers
meet it, and only what started after a change can change it again."""

from __future__ import annotations

import pytest
import structlog
from structlog.typing import EventDict

from catalog.errors import DatabaseUnavailable
from infra.db.availability import Availability

DATABASE = "postgresql://catalog:***@db/catalog"


def refused() -> Exception:
    return ConnectionRefusedError("Connect call failed")


@pytest.fixture
def availability() -> Availability:
    return Availability(DATABASE, lambda e: isinstance(e, ConnectionError))


def changes(logged: list[EventDict]) -> list[str]:
    return [entry["event"] for entry in logged]


def fail(availability: Availability, error: Exception) -> None:
    with availability.watch():
        raise error


def succeed(availability: Availability) -> None:
    with availability.watch():
        pass


def test_an_outage_is_told_once_however_many_meet_it(
    availability: Availability, logged: list[EventDict]
) -> None:
    for _ in range(3):
        with pytest.raises(DatabaseUnavailable) as raised:
            fail(availability, refused())
        assert isinstance(raised.value.__cause__, ConnectionRefusedError)
    succeed(availability)
    succeed(availability)
    assert changes(logged) == ["database_unavailable", "database_available_again"]
    assert logged[0]["log_level"] == "error"
    assert logged[0]["error"] == "ConnectionRefusedError: Connect call failed"
    assert logged[0]["database"] == DATABASE


def test_the_work_s_own_errors_pass_unchanged_and_show_the_database_answers(
    availability: Availability, logged: list[EventDict]
) -> None:
    with pytest.raises(DatabaseUnavailable):
        fail(availability, refused())
    with pytest.raises(ValueError, match="a constraint"):
        fail(availability, ValueError("a constraint"))
    assert changes(logged) == ["database_unavailable", "database_available_again"]


def test_work_in_flight_when_a_change_was_noticed_does_not_change_it_back(
    availability: Availability, logged: list[EventDict]
) -> None:
    begun_before_the_outage = availability.watch()
    begun_before_the_outage.__enter__()
    with pytest.raises(DatabaseUnavailable):
        fail(availability, refused())
    begun_before_the_outage.__exit__(None, None, None)  # it still succeeds: no news
    assert changes(logged) == ["database_unavailable"]

    begun_during_the_outage = availability.watch()
    begun_during_the_outage.__enter__()
    succeed(availability)
    with pytest.raises(DatabaseUnavailable):  # it still fails, on a connection of the old server
        begun_during_the_outage.__exit__(ConnectionResetError, ConnectionResetError(), None)
    assert changes(logged) == ["database_unavailable", "database_available_again"]


def test_the_lines_carry_no_request_s_context(
    availability: Availability, logged: list[EventDict]
) -> None:
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        with pytest.raises(DatabaseUnavailable):
            fail(availability, refused())
        succeed(availability)
    assert all("request_id" not in entry for entry in logged)
