"""Freezing a server's startup heap out of the cycle collector."""

from __future__ import annotations

import gc

from infra.heap import freeze_startup_heap


class Alive:
    """An object the collector tracks."""


def test_what_lives_at_start_is_no_longer_walked_by_collections() -> None:
    made_at_start = Alive()
    assert gc.is_tracked(made_at_start)
    try:
        freeze_startup_heap()
        tracked = {id(o) for o in gc.get_objects()}
        made_later = Alive()

        assert gc.get_freeze_count() > 0
        assert id(made_at_start) not in tracked
        assert any(o is made_later for o in gc.get_objects())
    finally:
        gc.unfreeze()
