"""Background work gives way to the process's live work: it waits while a request or an append
runs, looks again whenever one ends, never waits longer than its bound, and not for work that
has run past its live time (a long transfer)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.http.live_requests import live_requests_middleware
from infra.live_work import BACKGROUND_STEP, LIVE_WORK, LiveWork, made_giving_way
from tests.clock import Clock

AN_HOUR = 3600.0
"""A live time and a bound on giving way that no test reaches: a wait ends only when woken."""
BOUND = 60.0
"""How long a test waits at most for what must end, so that a broken wake fails it."""


def never_ending() -> LiveWork:
    """Live work counting for an hour, given way to for an hour."""
    return LiveWork(live_seconds=AN_HOUR, give_way_most=AN_HOUR)


async def turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_without_live_work_background_work_goes_on_at_once() -> None:
    live = never_ending()
    assert live.live_until() is None
    await asyncio.wait_for(live.give_way(), BOUND)  # returns: nothing to wait for
    live.give_way_in_thread()


async def test_background_work_waits_until_the_live_work_ends() -> None:
    live = never_ending()
    order: list[str] = []

    async def background() -> None:
        await live.give_way()
        order.append("background")

    with live.running():
        waiting = asyncio.create_task(background())
        await turns(5)
        order.append("live work ends")
    await asyncio.wait_for(waiting, BOUND)
    assert order == ["live work ends", "background"]


async def test_background_work_waits_for_the_last_of_several() -> None:
    live = never_ending()
    first, second = live.running(), live.running()
    first.__enter__()
    second.__enter__()
    waiting = asyncio.create_task(live.give_way())
    await turns(1)
    first.__exit__(None, None, None)
    await turns(5)
    assert not waiting.done()
    second.__exit__(None, None, None)
    await asyncio.wait_for(waiting, BOUND)


async def test_a_request_ending_beside_a_long_transfer_ends_the_wait() -> None:
    clock = Clock()
    live = LiveWork(live_seconds=AN_HOUR, give_way_most=AN_HOUR, clock=clock)
    with live.running():  # a download that has run past its live time
        clock.now = 2 * AN_HOUR
        with live.running():  # a request, live
            waiting = asyncio.create_task(live.give_way())
            await turns(5)
            assert not waiting.done()
        await asyncio.wait_for(waiting, BOUND)


async def test_background_work_waits_no_longer_than_its_bound() -> None:
    live = LiveWork(live_seconds=AN_HOUR, give_way_most=0.01)
    with live.running():
        await asyncio.wait_for(live.give_way(), BOUND)  # returns though the work runs on


async def test_work_past_its_live_time_is_not_waited_for() -> None:
    clock = Clock()
    live = LiveWork(live_seconds=1.0, give_way_most=AN_HOUR, clock=clock)
    with live.running():
        clock.now = 1.0
        assert live.live_until() is None
        await asyncio.wait_for(live.give_way(), BOUND)
        live.give_way_in_thread()


async def test_a_thread_gives_way_between_its_steps_until_the_live_work_ends() -> None:
    live = never_ending()
    steps: list[int] = []
    first_step_done = threading.Event()

    def make(items: Sequence[int]) -> list[int]:
        steps.append(len(items))
        first_step_done.set()
        return [item * 2 for item in items]

    items = list(range(BACKGROUND_STEP * 2 + 1))
    with live.running():
        making = asyncio.create_task(asyncio.to_thread(made_giving_way, make, items, live))
        await asyncio.to_thread(first_step_done.wait, BOUND)
        # The first step ran without waiting; the next waits for the live work to end (so
        # nothing here can see it run early, however long this test is held up).
        await asyncio.sleep(0.05)
        assert steps == [BACKGROUND_STEP]
    assert await asyncio.wait_for(making, BOUND) == [item * 2 for item in items]
    assert steps == [BACKGROUND_STEP, BACKGROUND_STEP, 1]


async def test_work_of_one_step_in_a_thread_never_waits() -> None:
    live = never_ending()
    items = list(range(BACKGROUND_STEP))
    with live.running():
        made = await asyncio.wait_for(asyncio.to_thread(made_giving_way, list, items, live), BOUND)
    assert made == items


async def test_requests_count_as_live_work_while_served() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"live": LIVE_WORK.live_until() is not None})

    app = web.Application(middlewares=[live_requests_middleware])
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app)) as client:
        answer = await client.get("/")
        assert await answer.json() == {"live": True}
    assert LIVE_WORK.live_until() is None
