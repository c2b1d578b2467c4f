"""Several workers' figures as one: prometheus_client's multiprocess mode.

Before it forks, the parent gives the workers a folder of their own; each worker writes its
counters, histograms and gauges to memory-mapped files named by its pid, and a scrape, which
any worker may answer, sums the files. A worker that dies leaves its counters' files behind, so
what it counted stays in the sums (a counter never goes back); its replacement writes files of
its own (or, given the same pid, goes on from the same file), so nothing is counted twice. Its
live gauges (uploads in progress) are removed when the parent sees it die."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own setting: instruments created while it is set write to files there."""


@contextlib.contextmanager
def shared_between_workers() -> Iterator[Callable[[int], None]]:
    """Workers forked inside count into one folder; yields what to call with the pid of a
    worker that died. The folder is removed on the way out."""
    directory = tempfile.mkdtemp(prefix="catalog-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    # prometheus_client picks how values are kept once, as it is imported: pick again now
    # that the setting is there (the parent has created no instrument yet).
    values.ValueClass = values.get_value_class()
    try:
        yield lambda pid: mark_process_dead(pid, directory)
    finally:
        del os.environ[MULTIPROCESS_DIR]
        values.ValueClass = values.get_value_class()
        shutil.rmtree(directory, ignore_errors=True)
