"""What the operator sees while a long command runs (`catalog projections rebuild`,
`catalog import-glance`).

On a terminal: one line redrawn in place, a bar with the items done (events replayed, images
imported), the share of the whole and the rate. Elsewhere (a log file, a CI job): a plain line
every few seconds. Phases get a line of their own either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2
LINE_SECONDS = 5.0


class ProgressDisplay:
    """`infra.projection_rebuild.RebuildProgress` written to a stream (stderr)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        label: str = "rebuild",
        unit: str = "events",
    ) -> None:
        self.stream = stream
        self.label = label
        self.unit = unit
        self.tty = stream.isatty()
        self.every = every if every is not None else (REDRAW_SECONDS if self.tty else LINE_SECONDS)
        self.clock = clock
        self.started = clock()
        self._shown_at: float | None = None
        self._bar_open = False

    def phase(self, name: str) -> None:
        self._end_bar()
        self.stream.write(f"{self.label}: {name}\n")
        self.stream.flush()

    def advance(self, replayed: int, total: int) -> None:
        now = self.clock()
        finished = replayed >= total  # the last step is always shown
        if self._shown_at is not None and now - self._shown_at < self.every and not finished:
            return
        self._shown_at = now
        elapsed = now - self.started
        rate = replayed / elapsed if elapsed > 0 else 0.0
        share = replayed / total if total else 1.0
        if self.tty:
            done = round(share * BAR_WIDTH)
            bar = "#" * done + "." * (BAR_WIDTH - done)
            self.stream.write(
                f"\r[{bar}] {share:6.1%}  {replayed:,}/{total:,} {self.unit}"
                f"  {rate:,.0f} {self.unit}/s "
            )
            self._bar_open = True
        else:
            self.stream.write(
                f"{self.label}: {replayed}/{total} {self.unit} ({share:.0%}),"
                f" {rate:.0f} {self.unit}/s\n"
            )
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line, so what is written next starts on a line of its own."""
        self._end_bar()

    def _end_bar(self) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
