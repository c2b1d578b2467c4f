"""What a command does when another writer appended to its image first: decide again, for a while.

A `ConcurrencyConflict` says only that the image changed between the command's load and its
append; neither request is wrong. The command loads the image again and decides on what is
there now (which may refuse it, e.g. a quota now full: that answer is the image's, not the
race's). Between attempts it waits a random time below a ceiling that doubles with each conflict
("full jitter"), so that writers which collided do not collide again in step. The bound is
time, not a number of attempts: under a burst of writers a request may lose many short rounds
and still be served well within what a client waits, while a stream that never settles ends
in a 409 after a known time.

Written here rather than with tenacity: the policy is a pure function of (conflicts so far,
time elapsed, a random source), run with the clock, sleep and randomness it is given, so its
jitter and its bound are checked exactly with a fake clock (tenacity measures time itself).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from catalog.errors import ConcurrencyConflict

T = TypeVar("T")
Uniform = Callable[[float, float], float]

_DOUBLINGS = 30
"""Beyond this many conflicts the ceiling stops growing (it is capped long before anyway)."""


@dataclass(frozen=True)
class ConflictRetry:
    """How long, and how patiently, a command decides again after concurrency conflicts."""

    budget: float = 10.0
    """Seconds from the first attempt after which a further conflict is given up (a 409)."""
    first_wait: float = 0.005
    """Ceiling of the random wait after the first conflict, in seconds; it doubles with each
    further conflict."""
    longest_wait: float = 0.2
    """The ceiling stops doubling here, in seconds."""

    def wait(self, conflicts: int, elapsed: float, uniform: Uniform) -> float | None:
        """Seconds to wait after the `conflicts`-th conflict, `elapsed` seconds after the first
        attempt began, drawn with `uniform(low, high)`; None once the budget is spent. Never
        waits past the budget."""
        left = self.budget - elapsed
        if left <= 0:
            return None
        ceiling = min(self.longest_wait, self.first_wait * 2 ** min(conflicts - 1, _DOUBLINGS))
        return min(uniform(0, ceiling), left)

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        uniform: Uniform = random.uniform,
    ) -> T:
        """What `attempt()` returns, calling it again after each `ConcurrencyConflict` it
        raises; the last conflict is raised once the budget is spent. `clock` counts seconds
        and never goes back. The default randomness is the `random` module's, which Python
        seeds afresh in a forked process, so server workers do not wait in step."""
        started = clock()
        conflicts = 0
        while True:
            try:
                return await attempt()
            except ConcurrencyConflict:
                conflicts += 1
                pause = self.wait(conflicts, clock() - started, uniform)
                if pause is None:
                    raise
            await sleep(pause)
