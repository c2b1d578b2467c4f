"""Work a client is waiting for, so that work nobody waits for can give way to it.

A consumer catching up with a long log inside `catalog serve` shares the event loop, the GIL
and the host's cores with the requests the API serves. Handing the loop over between its
steps (loop_turns.py) is not enough: a request awaits a dozen times between its arrival and
its answer (its reads, its append's statements), and at each await the catch-up's next slice
ran first, so a create waited for many slices; a batch of rows decoded in a thread held the
GIL for its switch interval each time the loop asked for it. Measured: the appends' p99 5-14
times their p99 without a catch-up (docs/performance.md).

So the process counts its live work (requests being served, appends being made) and
background work gives way at its steps while any is running: it waits until none is, for at
most `GIVE_WAY_MOST` at a time, so that it keeps a share of the process under a steady load.
Work counts as live for its first `LIVE_SECONDS` only: a long transfer (an upload, a download
of gigabytes) is not a request a catch-up should stop for, and would otherwise slow it for
minutes.

One count per process, as the loop and the GIL it arbitrates are. `running` and `give_way`
are called on an event loop's thread; `give_way_in_thread` from any other thread.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

LIVE_SECONDS = 0.5
"""How long work counts as live from its start: longer than any request's answer that is
not a transfer of image data."""
GIVE_WAY_MOST = 0.005
"""The longest background work waits at one step for live work to end: about a request's own
time on a busy host, so that under a steady load it still runs a step of its own at least
this often."""
BACKGROUND_STEP = 50
"""Items (events, rows, records) background work goes through between two looks at live
work. A consumer's delivery of at most this many is one following the log's head, which
some reader is waiting for: it never gives way."""

Item = TypeVar("Item")
Made = TypeVar("Made")


class LiveWork:
    def __init__(
        self,
        live_seconds: float = LIVE_SECONDS,
        give_way_most: float = GIVE_WAY_MOST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._live_seconds = live_seconds
        self._clock = clock
        self._most = give_way_most
        self._started: dict[int, float] = {}
        """Work running, by token: when it started (by `clock`)."""
        self._tokens = itertools.count()
        self._ended = threading.Condition()
        """Notified when any work ends, for `give_way_in_thread`."""
        self._waiters: set[asyncio.Future[None]] = set()
        """`give_way`'s, woken when any work ends."""

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count what runs inside as live work."""
        token = next(self._tokens)
        self._started[token] = self._clock()
        try:
            yield
        finally:
            del self._started[token]
            self._wake_waiters()

    def live_until(self) -> float | None:
        """When the live work running now stops counting (by `clock`), or None if none is
        running or all of it has run longer than `live_seconds`."""
        starts = list(self._started.values())  # a copy: read from other threads too
        if not starts:
            return None
        until = max(starts) + self._live_seconds
        return until if until > self._clock() else None

    async def give_way(self) -> None:
        """Wait while live work runs, for at most `give_way_most` seconds."""
        deadline = self._clock() + self._most
        loop = asyncio.get_running_loop()
        while (until := self.live_until()) is not None:
            wait = min(deadline, until) - self._clock()
            if wait <= 0:
                return
            waiter = loop.create_future()
            self._waiters.add(waiter)
            try:
                async with asyncio.timeout(wait):
                    await waiter
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)

    def give_way_in_thread(self) -> None:
        """`give_way` for work in a thread other than the event loop's."""
        deadline = self._clock() + self._most
        with self._ended:
            while (until := self.live_until()) is not None:
                wait = min(deadline, until) - self._clock()
                if wait <= 0:
                    return
                self._ended.wait(wait)

    def _wake_waiters(self) -> None:
        """After any work ended: those waiting look again (work past its live time may still
        be running, so waiting only for the last to end would miss the end of the live)."""
        with self._ended:
            self._ended.notify_all()
        if not self._waiters:
            return
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for waiter in list(self._waiters):
            if waiter.done():
                continue
            loop = waiter.get_loop()
            if loop is here:
                waiter.set_result(None)
            elif not loop.is_closed():  # a test's server may run its own loop in a thread
                loop.call_soon_threadsafe(_wake, waiter)


def made_giving_way(
    make: Callable[[Sequence[Item]], list[Made]],
    items: Sequence[Item],
    live: LiveWork | None = None,
) -> list[Made]:
    """`make(items)`, in steps of `BACKGROUND_STEP` items, giving way to live work between
    them: for long work in a thread beside the event loop, which would otherwise take the GIL
    from the loop's requests for its switch interval each time they need it. Work of one step
    (a consumer following the log's head) never waits."""
    live = live or LIVE_WORK
    made = make(items[:BACKGROUND_STEP])
    for start in range(BACKGROUND_STEP, len(items), BACKGROUND_STEP):
        live.give_way_in_thread()
        made.extend(make(items[start : start + BACKGROUND_STEP]))
    return made


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


LIVE_WORK = LiveWork()
"""This process's."""
