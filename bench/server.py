"""Start a `catalog serve` process for a benchmark and read its peak memory."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.serving import unused_port, wait_until_serving


@contextlib.contextmanager
def running_server(
    data_dir: Path, env: dict[str, str] | None = None, *, code: Path | None = None
) -> Iterator[tuple[str, int]]:
    """Yields (base URL, pid) of a server on a free loopback port, stopped afterwards: this
    checkout's, or the one in the folder `code` (another version of the catalog, run with this
    environment's packages)."""
    port = unused_port()
    output = data_dir / "server.log"
    log = output.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "serve", "--bind", f"127.0.0.1:{port}"],
        env={**os.environ, "CATALOG_DATA_DIR": str(data_dir.resolve()), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=code,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, output)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def peak_rss_mib(pid: int) -> float:
    """The high-water mark of resident memory (VmHWM) of the server, in MiB: of the process
    and, for a server with several workers, of each worker, summed."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(_peak_rss_of(p) for p in [pid, *map(int, children)])


def _peak_rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (a server's workers, their helpers)."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue.extend(map(int, (task / "children").read_text().split()))
        except FileNotFoundError:
            continue  # ended meanwhile
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a server: its process and every descendant still running."""
    return sum(cpu_seconds_each(process_tree(pid)).values())


def cpu_seconds_each(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU time of each of `pids` still running."""
    seconds = {}
    for process in pids:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        seconds[process] = ticks / os.sysconf("SC_CLK_TCK")
    return seconds
