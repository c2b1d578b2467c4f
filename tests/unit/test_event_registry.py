"""Events round-trip through their stored form; older schema versions are upcast on read."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.events import ImageCreated, decode, encode, upcasters


def test_an_event_round_trips_through_its_stored_form() -> None:
    event = ImageCreated(name="n", tags=("a",), properties={"k": "v"})
    assert decode(ImageCreated.event_type, 1, encode(event)) == event


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(LookupError):
        decode("image.exploded", 1, {})


def test_old_schema_versions_are_upcast_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
        renamed = dict(data)
        renamed["name"] = renamed.pop("title")
        return renamed

    monkeypatch.setitem(upcasters.UPCASTERS, ("image.created", 0), v0_to_v1)
    event = decode("image.created", 0, {"title": "old"})
    assert isinstance(event, ImageCreated)
    assert event.name == "old"
