"""Background work gives way to the process's live work: it waits while a request or an append
runs, never longer than its bound, and not for work that has run past its live time (a long
transfer)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.http.live_requests import live_requests_middleware
from infra.live_work import LIVE_WORK, THREAD_STEP, LiveWork, made_giving_way

AN_HOUR = 3600.0
"""A bound on giving way that no test reaches."""
BOUND = 60.0
"""How long a test waits at most for what must end, so that a broken wake fails it."""


async def test_without_live_work_background_work_goes_on_at_once() -> None:
    live = LiveWork(give_way_most=AN_HOUR)
    assert live.live_until() is None
    await asyncio.wait_for(live.give_way(), BOUND)  # returns: nothing to wait for
    live.give_way_in_thread()


async def test_background_work_waits_until_the_live_work_ends() -> None:
    live = LiveWork(give_way_most=AN_HOUR)
    order: list[str] = []

    async def background() -> None:
        await live.give_way()
        order.append("background")

    with live.running():
        waiting = asyncio.create_task(background())
        for _ in range(5):
            await asyncio.sleep(0)
        order.append("live work ends")
    await asyncio.wait_for(waiting, BOUND)
    assert order == ["live work ends", "background"]


async def test_background_work_waits_for_the_last_of_several() -> None:
    live = LiveWork(give_way_most=AN_HOUR)
    first, second = live.running(), live.running()
    first.__enter__()
    second.__enter__()
    waiting = asyncio.create_task(live.give_way())
    await asyncio.sleep(0)
    first.__exit__(None, None, None)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    second.__exit__(None, None, None)
    await asyncio.wait_for(waiting, BOUND)


async def test_background_work_waits_no_longer_than_its_bound() -> None:
    live = LiveWork(give_way_most=0.01)
    with live.running():
        await asyncio.wait_for(live.give_way(), BOUND)  # returns though the work runs on


async def test_work_past_its_live_time_is_not_waited_for() -> None:
    live = LiveWork(live_seconds=0.0, give_way_most=AN_HOUR)
    with live.running():
        assert live.live_until() is None
        await asyncio.wait_for(live.give_way(), BOUND)


async def test_a_thread_gives_way_between_its_steps_until_the_live_work_ends() -> None:
    live = LiveWork(give_way_most=AN_HOUR)
    steps: list[int] = []
    first_step_done = threading.Event()

    def make(items: Sequence[int]) -> list[int]:
        steps.append(len(items))
        first_step_done.set()
        return [item * 2 for item in items]

    items = list(range(THREAD_STEP * 2 + 1))
    with live.running():
        making = asyncio.create_task(asyncio.to_thread(made_giving_way, make, items, live))
        await asyncio.to_thread(first_step_done.wait, BOUND)
        # The first step ran without waiting; the next waits for the live work to end.
        await asyncio.sleep(0.05)
        assert steps == [THREAD_STEP]
    assert await asyncio.wait_for(making, BOUND) == [item * 2 for item in items]
    assert steps == [THREAD_STEP, THREAD_STEP, 1]


async def test_requests_count_as_live_work_while_served() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"live": LIVE_WORK.live_until() is not None})

    app = web.Application(middlewares=[live_requests_middleware])
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app)) as client:
        answer = await client.get("/")
        assert await answer.json() == {"live": True}
    assert LIVE_WORK.live_until() is None
