"""When the runner writes the place of deliveries a consumer passed by: not at every empty look
of its source, only once the source has been quiet for a while (or the place is overdue)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from infra.consumers import runner
from infra.consumers.base import Delivery
from infra.consumers.runner import run_consumer
from infra.live_work import LiveWork


class WantsNothing:
    name = "idle"
    event_types: frozenset[str] | None = frozenset()

    def apply(self, conn: Any, events: Sequence[Any]) -> None:
        raise AssertionError("nothing is wanted")


class ScriptedSource:
    """Deliveries and empty looks (None) in the order given; then the consumer is stopped."""

    def __init__(self, script: list[Delivery | None]) -> None:
        self._script = script

    async def start(self) -> None:
        pass

    async def next(self) -> Delivery | None:
        if not self._script:
            raise asyncio.CancelledError
        return self._script.pop(0)

    async def delivered(self, delivery: Delivery) -> None:
        pass

    async def stop(self) -> None:
        pass


class PlacesWritten:
    """A database whose transactions only run the place's recording."""

    def __init__(self) -> None:
        self.places: list[str] = []

    async def write_derived(self, work: Any, *args: Any) -> Any:
        return work(None, *args)


def delivery(name: str, written: PlacesWritten) -> Delivery:
    return Delivery([], lambda conn: written.places.append(name))


async def places_written(script: list[str | None]) -> list[str]:
    written = PlacesWritten()
    source = ScriptedSource([None if s is None else delivery(s, written) for s in script])
    with pytest.raises(asyncio.CancelledError):
        await run_consumer(WantsNothing(), source, written)  # type: ignore[arg-type]
    return written.places


async def test_empty_looks_between_deliveries_write_no_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "QUIET_SECONDS", 3600.0)
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 3600.0)

    assert await places_written(["a", None, "b", None, None, "c", None]) == []


async def test_a_quiet_source_has_the_latest_place_written_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 3600.0)

    assert await places_written(["a", "b", None, None, "c", None]) == ["b", "c"]


class Passing:
    """An event of a type no consumer here wants."""

    event_type = "image.passing"


class ReadsInOrder(ScriptedSource):
    """Notes each read in `order` (the first also sets `first_read`)."""

    def __init__(self, script: list[Delivery | None], order: list[str]) -> None:
        super().__init__(script)
        self.order = order
        self.first_read = asyncio.Event()

    async def next(self) -> Delivery | None:
        self.order.append("read")
        self.first_read.set()
        return await super().next()


async def reads_and_live_work(monkeypatch: pytest.MonkeyPatch, events: int) -> list[str]:
    """The order of a consumer's reads and the end of a request running meanwhile, the first
    delivery carrying `events` events."""
    live = LiveWork(give_way_most=3600.0)
    monkeypatch.setattr(runner, "LIVE_WORK", live)
    monkeypatch.setattr(runner, "QUIET_SECONDS", 3600.0)
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 3600.0)
    order: list[str] = []
    first = Delivery([Passing()] * events, lambda conn: None)  # type: ignore[list-item]
    source = ReadsInOrder([first, None], order)

    began = asyncio.Event()

    async def request() -> None:
        with live.running():
            began.set()
            await source.first_read.wait()
            for _ in range(20):  # the request's own awaits, each a turn of the loop
                await asyncio.sleep(0)
            order.append("live work ends")

    serving = asyncio.create_task(request())
    await began.wait()
    with pytest.raises(asyncio.CancelledError):
        await run_consumer(WantsNothing(), source, PlacesWritten())  # type: ignore[arg-type]
    await serving
    return order


async def test_a_consumer_catching_up_reads_on_once_live_work_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catching_up = runner.CATCHING_UP_EVENTS + 1
    order = await reads_and_live_work(monkeypatch, catching_up)
    assert order[:3] == ["read", "live work ends", "read"]


async def test_a_consumer_following_the_head_does_not_wait_for_live_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = await reads_and_live_work(monkeypatch, runner.CATCHING_UP_EVENTS)
    assert order[:2] == ["read", "read"]
