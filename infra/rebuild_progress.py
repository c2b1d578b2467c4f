"""What the operator sees while `catalog projections rebuild` runs.

On a terminal: one line redrawn in place, a bar with the events replayed, the share of the log
and the rate. Elsewhere (a log file, a CI job): a plain line every few seconds. Phases get a
line of their own either way.
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
    ) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every if every is not None else (REDRAW_SECONDS if self.tty else LINE_SECONDS)
        self.clock = clock
        self.started = clock()
        self._shown_at: float | None = None
        self._bar_open = False

    def phase(self, name: str) -> None:
        self._end_bar()
        self.stream.write(f"rebuild: {name}\n")
        self.stream.flush()

    def advance(self, replayed: int, total: int) -> None:
        now = self.clock()
        if self._shown_at is not None and now - self._shown_at < self.every:
            return
        self._shown_at = now
        elapsed = now - self.started
        rate = replayed / elapsed if elapsed > 0 else 0.0
        share = replayed / total if total else 1.0
        if self.tty:
            done = round(share * BAR_WIDTH)
            bar = "#" * done + "." * (BAR_WIDTH - done)
            self.stream.write(
                f"\r[{bar}] {share:6.1%}  {replayed:,}/{total:,} events  {rate:,.0f} events/s "
            )
            self._bar_open = True
        else:
            self.stream.write(
                f"rebuild: {replayed}/{total} events ({share:.0%}), {rate:.0f} events/s\n"
            )
        self.stream.flush()

    def _end_bar(self) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
