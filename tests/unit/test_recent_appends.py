"""The events a process appended last, handed to its readers only where memory can vouch for
the log: from a place inside the window, never past a gap."""

from __future__ import annotations

from catalog.events import RecordedEvent
from infra.db.recent_appends import RecentAppends
from tests.recorded_events import created_at as at


def positions(events: list[RecordedEvent] | None) -> list[int] | None:
    return None if events is None else [e.position for e in events]


def test_a_reader_inside_the_window_gets_what_follows_its_place_up_to_its_limit() -> None:
    recent = RecentAppends()
    recent.committed(at(5, 6))
    recent.committed(at(7, 8, 9))

    assert positions(recent.after(4, 10)) == [5, 6, 7, 8, 9]
    assert positions(recent.after(6, 2)) == [7, 8]
    assert positions(recent.after(8, 10)) == [9]


def test_a_place_memory_cannot_vouch_for_sends_the_reader_to_the_log() -> None:
    recent = RecentAppends()
    assert recent.after(0, 10) is None  # nothing appended here yet
    recent.committed(at(5, 6))

    assert recent.after(3, 10) is None  # position 4 is not here
    assert recent.after(6, 10) is None  # at the end: another process may have appended since


def test_someone_elses_appends_in_between_start_the_window_again() -> None:
    recent = RecentAppends()
    recent.committed(at(5, 6))
    recent.committed(at(9))  # 7 and 8 were appended elsewhere

    assert recent.after(4, 10) is None
    assert recent.after(6, 10) is None
    assert positions(recent.after(8, 10)) == [9]


def test_only_the_latest_events_are_kept() -> None:
    recent = RecentAppends(kept=3)
    recent.committed(at(1, 2, 3, 4, 5))

    assert recent.after(0, 10) is None
    assert positions(recent.after(2, 10)) == [3, 4, 5]
