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
from infra.live_work import BACKGROUND_STEP, LiveWork


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
    """An event of a type the consumers here want or not, as they say."""

    event_type = "image.passing"


class WantsAll(WantsNothing):
    name = "everything"
    event_types = None


class Steps:
    """What a consumer and a request did, in order; `first` and `second` are set as the
    consumer's first and second steps are noted."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.first, self.second = asyncio.Event(), asyncio.Event()

    def note(self, step: str) -> None:
        self.order.append(step)
        consumer_steps = len([s for s in self.order if s != "live work ends"])
        for reached, event in ((1, self.first), (2, self.second)):
            if consumer_steps >= reached:
                event.set()


class ReadsNoted(ScriptedSource):
    def __init__(self, script: list[Delivery | None], steps: Steps) -> None:
        super().__init__(script)
        self.steps = steps

    async def next(self) -> Delivery | None:
        self.steps.note("read")
        return await super().next()


async def consumer_beside_live_work(
    monkeypatch: pytest.MonkeyPatch, consumer: WantsNothing, events: int
) -> list[str]:
    """The order of a consumer's reads, the deliveries it applied and the end of a request
    running meanwhile, the first delivery carrying `events` events."""
    live = LiveWork(live_seconds=3600.0, give_way_most=3600.0)
    monkeypatch.setattr(runner, "LIVE_WORK", live)
    monkeypatch.setattr(runner, "QUIET_SECONDS", 3600.0)
    monkeypatch.setattr(runner, "PLACE_SAVE_INTERVAL", 3600.0)
    steps = Steps()

    def applied(conn: Any, consumer: Any, delivery: Delivery) -> int:
        steps.note("apply")
        return 0

    monkeypatch.setattr(runner, "apply_delivery", applied)
    first = Delivery([Passing()] * events, lambda conn: None)  # type: ignore[list-item]
    source = ReadsNoted([first, None], steps)
    began = asyncio.Event()
    should_wait = events > BACKGROUND_STEP

    async def request() -> None:
        with live.running():
            began.set()
            await steps.first.wait()
            for _ in range(20):  # the request's own awaits, each a turn of the loop
                await asyncio.sleep(0)
            if not should_wait:  # would never end, should the consumer wait for it
                await steps.second.wait()
            steps.note("live work ends")

    serving = asyncio.create_task(request())
    await began.wait()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(
            run_consumer(consumer, source, PlacesWritten()),  # type: ignore[arg-type]
            60,
        )
    await asyncio.wait_for(serving, 60)
    return steps.order


async def test_a_consumer_catching_up_reads_on_once_live_work_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = await consumer_beside_live_work(monkeypatch, WantsNothing(), BACKGROUND_STEP + 1)
    assert order == ["read", "live work ends", "read", "read"]


async def test_a_consumer_catching_up_applies_once_live_work_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = await consumer_beside_live_work(monkeypatch, WantsAll(), BACKGROUND_STEP + 1)
    assert order[:3] == ["read", "live work ends", "apply"]


async def test_a_consumer_following_the_head_does_not_wait_for_live_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passing_by = await consumer_beside_live_work(monkeypatch, WantsNothing(), BACKGROUND_STEP)
    assert passing_by[:2] == ["read", "read"]
    applying = await consumer_beside_live_work(monkeypatch, WantsAll(), BACKGROUND_STEP)
    assert applying[:2] == ["read", "apply"]
