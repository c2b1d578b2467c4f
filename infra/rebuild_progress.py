"""What the operator sees while a long command runs (`catalog projections rebuild`,
`catalog import-glance`), and what the servers' metrics see of a rebuild (its record in the
database, `recorded`).

On a terminal: one line redrawn in place, a bar with the items done (events replayed, images
imported), the share of the whole and the rate. Elsewhere (a log file, a CI job): a plain line
every few seconds. Phases get a line of their own either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

import structlog

from infra.db.database import Database
from infra.db.rebuild_record import RebuildRecord, save_rebuild_record
from infra.projection_rebuild import RebuildProgress

log = structlog.get_logger(__name__)

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2
LINE_SECONDS = 5.0
RECORD_SECONDS = 5.0
"""How often a running rebuild writes its progress for the servers' metrics."""


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


class RecordedProgress:
    """Passes everything on to what the operator sees (`shown`) and keeps the latest figures,
    which `recorded` writes into the database for the servers' metrics."""

    def __init__(self, shown: RebuildProgress, started_at: datetime) -> None:
        self.shown = shown
        self.record = RebuildRecord("preparing", 0, 0, started_at, started_at, None)

    def phase(self, name: str) -> None:
        self.record = replace(self.record, phase=name)
        self.shown.phase(name)

    def advance(self, replayed: int, total: int) -> None:
        self.record = replace(self.record, replayed=replayed, total=total)
        self.shown.advance(replayed, total)


@contextlib.asynccontextmanager
async def recorded(
    database: Database, shown: RebuildProgress, *, every: float = RECORD_SECONDS
) -> AsyncIterator[RecordedProgress]:
    """A rebuild's progress, written into the database when it starts, every `every` seconds
    while it runs (its freshness tells a running rebuild from one whose process died) and
    when it ends, however it ends. A write that fails never stops the rebuild."""
    progress = RecordedProgress(shown, datetime.now(UTC))

    async def save(*, ending: str | None = None) -> None:
        now = datetime.now(UTC)
        progress.record = replace(progress.record, updated_at=now)
        if ending is not None:
            progress.record = replace(progress.record, phase=ending, finished_at=now)
        try:
            await database.write(save_rebuild_record, progress.record)
        except Exception:
            log.warning("rebuild_progress_not_recorded", exc_info=True)

    async def keep_saving() -> None:
        while True:
            await asyncio.sleep(every)
            await save()

    await save()
    saving = asyncio.create_task(keep_saving())
    outcome = "interrupted"
    try:
        yield progress
        outcome = "finished"
    finally:
        saving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await saving
        await asyncio.shield(save(ending=outcome))
