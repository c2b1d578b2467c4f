"""Work a client is waiting for, so that work nobody waits for can give way to it.

A consumer catching up with a long log inside `catalog serve` shares the event loop, the GIL
and the host's cores with the requests the API serves. Handing the loop over between its
steps (loop_turns.py) is not enough: a request awaits a dozen times between its arrival and
its answer (its reads, its append's statements), and at each await the catch-up's next slice
ran first, so a create waited for many slices; a batch of rows decoded in a thread held the
GIL for its switch interval each time the loop asked for it. Measured: the appends' p99 5-13
times their p99 without a catch-up (docs/performance.md).

So the process counts its live work (requests being served, appends being made) and
background work gives way at its steps while any is running: it waits until none is, for at
most `GIVE_WAY_MOST` at a time, so that it still moves under a steady load. Work counts as
live for its first `LIVE_SECONDS` only: a long transfer (an upload, a download of gigabytes)
is not a request a catch-up should stop for, and would otherwise slow it for minutes.

One count per process, as the loop and the GIL it arbitrates are. `running` is entered on
the event loop's thread; `give_way_in_thread` is for work in other threads.
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
GIVE_WAY_MOST = 0.05
"""The longest background work waits at a step for live work to end: under a steady load it
still gets a slice at least this often."""
THREAD_STEP = 50
"""Items made at a time by `made_giving_way` between its looks at live work: about a
millisecond of decoding events."""

Item = TypeVar("Item")
Made = TypeVar("Made")


class LiveWork:
    def __init__(
        self, live_seconds: float = LIVE_SECONDS, give_way_most: float = GIVE_WAY_MOST
    ) -> None:
        self._live_seconds = live_seconds
        self._most = give_way_most
        self._started: dict[int, float] = {}
        """Work running, by token: when it started (`time.monotonic`)."""
        self._tokens = itertools.count()
        self._ended = threading.Condition()
        """Notified when the last work running ends, for `give_way_in_thread`."""
        self._waiters: list[asyncio.Future[None]] = []
        """`give_way`'s, woken when the last work running ends."""

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count what runs inside as live work."""
        token = next(self._tokens)
        self._started[token] = time.monotonic()
        try:
            yield
        finally:
            del self._started[token]
            if not self._started:
                with self._ended:
                    self._ended.notify_all()
                for waiter in self._waiters:
                    # Thread-safe: a test may run a server's loop in a thread of its own.
                    waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    def live_until(self) -> float | None:
        """When the live work running now stops counting (`time.monotonic`), or None if none
        is running or all of it has run longer than `live_seconds`."""
        starts = list(self._started.values())  # a copy: read from other threads too
        if not starts:
            return None
        until = max(starts) + self._live_seconds
        return until if until > time.monotonic() else None

    async def give_way(self) -> None:
        """Wait while live work runs, for at most `give_way_most` seconds."""
        until = self.live_until()
        if until is None:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, min(self._most, until - time.monotonic()))
        except TimeoutError:
            pass
        finally:
            self._waiters.remove(waiter)

    def give_way_in_thread(self) -> None:
        """`give_way` for work in a thread other than the event loop's."""
        until = self.live_until()
        if until is None:
            return
        with self._ended:
            self._ended.wait_for(
                lambda: self.live_until() is None, min(self._most, until - time.monotonic())
            )


def made_giving_way(
    make: Callable[[Sequence[Item]], list[Made]],
    items: Sequence[Item],
    live: LiveWork | None = None,
) -> list[Made]:
    """`make(items)`, in steps of `THREAD_STEP` items, giving way to live work between them:
    for long work in a thread beside the event loop, which would otherwise take the GIL from
    the loop's requests for its switch interval each time they need it. Work of one step
    (a consumer following the log's head) never waits."""
    live = live or LIVE_WORK
    made = make(items[:THREAD_STEP])
    for start in range(THREAD_STEP, len(items), THREAD_STEP):
        live.give_way_in_thread()
        made.extend(make(items[start : start + THREAD_STEP]))
    return made


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


LIVE_WORK = LiveWork()
"""This process's."""
