"""The rate of a long run per tenth of it: a rebuild's progress, kept as it goes.

A run whose cost grows with what it has already done shows it here first: its overall rate
hides a first tenth twice as fast as its last.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from infra.projection_rebuild import RebuildProgress

TENTHS = 10


class Mark(NamedTuple):
    """Where a run was: items done, the clock less the time set aside, the CPU clock."""

    items: int
    at: float
    cpu: float


@dataclass
class Tenths:
    """`RebuildProgress` that notes when each tenth of the total was passed, and passes
    everything on to `shown`. Time spent in the phases named in `aside` (a rebuild's
    indexing, between its replay and its catch-up) counts in no tenth."""

    shown: RebuildProgress
    aside: tuple[str, ...] = ()
    clock: Callable[[], float] = time.perf_counter
    cpu_clock: Callable[[], float] = time.process_time
    """This process's CPU time: its share per item in each tenth, which a busy host disturbs
    less than the rate."""
    started: Mark = field(init=False)
    passed: list[Mark] = field(init=False, default_factory=list)
    """The run at the first advance at or past each tenth."""
    set_aside: float = 0.0
    _aside_since: float | None = None

    def __post_init__(self) -> None:
        self.started = Mark(0, self.clock(), self.cpu_clock())

    def phase(self, name: str) -> None:
        now = self.clock()
        if self._aside_since is not None:
            self.set_aside += now - self._aside_since
        self._aside_since = now if name in self.aside else None
        self.shown.phase(name)

    def advance(self, replayed: int, total: int) -> None:
        now = self.clock() - self.set_aside
        while len(self.passed) < TENTHS and replayed * TENTHS >= total * (len(self.passed) + 1):
            self.passed.append(Mark(replayed, now, self.cpu_clock()))
        self.shown.advance(replayed, total)

    def _spans(self) -> list[tuple[int, float, float]]:
        """The items done, the seconds and the CPU seconds within each tenth passed."""
        return [
            (end.items - start.items, end.at - start.at, end.cpu - start.cpu)
            for start, end in itertools.pairwise([self.started, *self.passed])
        ]

    def rates(self) -> list[float]:
        """Items per second within each tenth passed."""
        return [items / seconds if seconds > 0 else 0.0 for items, seconds, _ in self._spans()]

    def cpu_per_item(self) -> list[float]:
        """This process's CPU seconds per item within each tenth passed."""
        return [cpu / items if items > 0 else 0.0 for items, _, cpu in self._spans()]

    def cpu_report(self, unit: str = "event") -> str:
        costs = self.cpu_per_item()
        if not costs or not costs[0]:
            return "no tenth passed"
        shown = " ".join(f"{cost * 1e6:.1f}" for cost in costs)
        return f"CPU µs per {unit} per tenth: {shown}; last/first = {costs[-1] / costs[0]:.2f}"

    def report(self, unit: str = "events") -> str:
        rates = self.rates()
        if not rates:
            return "no tenth passed"
        shown = " ".join(f"{rate / 1000:.1f}k" for rate in rates)
        aside = (
            f" ({self.set_aside:.1f} s of {', '.join(self.aside)} in none)" if self.aside else ""
        )
        return (
            f"{unit}/s per tenth: {shown}{aside}; last/first = {rates[-1] / rates[0]:.2f}"
            if rates[0]
            else shown
        )
