"""The rate of a long run per tenth of it: a rebuild's progress, kept as it goes.

A run whose cost grows with what it has already done shows it here first: its overall rate
hides a first tenth twice as fast as its last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from infra.projection_rebuild import RebuildProgress

TENTHS = 10


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
    started: float = field(init=False)
    cpu_started: float = field(init=False)
    passed: list[tuple[int, float]] = field(init=False, default_factory=list)
    """(items done, when, less the time set aside) at the first advance at or past each tenth."""
    cpu_passed: list[float] = field(init=False, default_factory=list)
    """The CPU clock at each of `passed`."""
    set_aside: float = 0.0
    _aside_since: float | None = None

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.cpu_started = self.cpu_clock()

    def phase(self, name: str) -> None:
        now = self.clock()
        if self._aside_since is not None:
            self.set_aside += now - self._aside_since
        self._aside_since = now if name in self.aside else None
        self.shown.phase(name)

    def advance(self, replayed: int, total: int) -> None:
        now = self.clock() - self.set_aside
        while len(self.passed) < TENTHS and replayed * TENTHS >= total * (len(self.passed) + 1):
            self.passed.append((replayed, now))
            self.cpu_passed.append(self.cpu_clock())
        self.shown.advance(replayed, total)

    def rates(self) -> list[float]:
        """Items per second within each tenth passed."""
        rates, (done, at) = [], (0, self.started)
        for count, moment in self.passed:
            rates.append((count - done) / (moment - at) if moment > at else 0.0)
            done, at = count, moment
        return rates

    def cpu_per_item(self) -> list[float]:
        """This process's CPU seconds per item within each tenth passed."""
        costs, (done, at) = [], (0, self.cpu_started)
        for (count, _), moment in zip(self.passed, self.cpu_passed, strict=True):
            costs.append((moment - at) / (count - done) if count > done else 0.0)
            done, at = count, moment
        return costs

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
