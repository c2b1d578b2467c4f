"""Several server processes on one listening socket (PostgreSQL deployments).

One Python process serves on one core. `catalog serve --workers N` binds the socket once, then
forks N processes that accept on it; the kernel spreads connections among them. Each worker is
a whole server (its own pools, node id, heartbeat and recovery; the relay lock lets one of them
publish). The parent only supervises: it forwards SIGTERM/SIGINT, and when a worker dies while
the server is meant to run, it logs why (what the worker said as it failed, or the signal that
killed it) and starts another.

A worker that dies before it serves, or soon after, would most likely die again the same way
(the database gone, a bug at start): after `MAX_QUICK_DEATHS` such deaths in a row the server
stops, saying the last cause, instead of starting workers forever.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import NoReturn

import structlog

from infra.operator_errors import OperatorError, in_words

log = structlog.get_logger(__name__)

RESTART_PAUSE_SECONDS = 1.0
"""Between a worker's death and its replacement: a worker failing at start must not spin."""
MAX_QUICK_DEATHS = 5
QUICK_DEATH_SECONDS = 30.0
"""A worker that dies sooner than this after it started serving died quickly too."""

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

_SERVING = b"serving\n"
_DIED = b"died: "

RunWorker = Callable[[Callable[[], None]], None]
"""A worker's life: it serves until told to stop, and calls its argument once it serves."""


class CannotListen(OperatorError):
    """The address to serve on cannot be bound."""


class WorkersKeepDying(OperatorError):
    """Workers died quickly too many times in a row: the server stopped."""


def listening_socket(
    host: str, port: int, *, named: str = "--bind, CATALOG_API_BIND"
) -> socket.socket:
    """A socket listening on `host:port`, which worker processes inherit; `named` says which
    setting gave the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as e:
        # Python adds the address it tried to the system's words: it is said already.
        reason = (e.strerror or str(e)).partition(" (while attempting to bind")[0]
        raise CannotListen(f"cannot listen on {host}:{port} ({named}): {reason}") from e
    sock.set_inheritable(True)
    return sock


@dataclass(frozen=True)
class _Worker:
    pid: int
    started: float
    reports: int
    """The read end of the pipe on which the worker says it serves, or why it failed."""


@dataclass(frozen=True)
class _Death:
    cause: str
    quick: bool


def _tell(fd: int, message: bytes) -> None:
    with contextlib.suppress(OSError):  # nobody to tell: the parent is gone
        os.write(fd, message)


def _live(run_worker: RunWorker, reports: int) -> NoReturn:
    """The worker process: default signal handling, then serve until told to stop."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by `spawn`
    code = 0
    try:
        run_worker(lambda: _tell(reports, _SERVING))
    except BaseException as e:
        code = 1
        if isinstance(e, OperatorError):
            cause = "; ".join(e.lines)
        else:
            cause = in_words(e)
            log.exception("worker_failed", cause=cause)
        _tell(reports, _DIED + " ".join(cause.split()).encode() + b"\n")
    os._exit(code)


def _death(worker: _Worker, wait_status: int) -> _Death:
    """Why `worker` died, and whether that was quick."""
    said = b""
    with contextlib.suppress(OSError):  # the worker's end is closed: this never waits
        said = os.read(worker.reports, 1 << 16)
    os.close(worker.reports)
    served = _SERVING in said
    told = [line[len(_DIED) :] for line in said.splitlines() if line.startswith(_DIED)]
    code = os.waitstatus_to_exitcode(wait_status)
    if told:
        cause = told[-1].decode(errors="replace")
    elif code < 0:
        cause = f"killed by {signal.Signals(-code).name}"
    else:
        cause = f"exited with status {code}"
    lived = time.monotonic() - worker.started
    return _Death(cause, quick=not served or lived < QUICK_DEATH_SECONDS)


def supervise(
    workers: int, run_worker: RunWorker, on_death: Callable[[int], None] = lambda pid: None
) -> None:
    """Fork `workers` processes, each living `run_worker`; return once all have stopped after
    SIGTERM or SIGINT. `WorkersKeepDying` once `MAX_QUICK_DEATHS` died quickly in a row.
    `on_death` is told the pid of each worker that has exited."""
    stopping = False
    children: dict[int, _Worker] = {}

    def spawn() -> None:
        reports, told = os.pipe()
        # A stop signal arriving while a worker is forked waits until the worker has its own
        # handling (it then stops) and the parent knows it (it then forwards the signal to
        # it): run in the new worker, the parent's handler would leave it serving for good.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(reports)
                for other in children.values():
                    os.close(other.reports)
                _live(run_worker, told)
            os.close(told)
            children[pid] = _Worker(pid, time.monotonic(), reports)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):  # it has just exited
                os.kill(pid, signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    for _ in range(workers):
        spawn()
    log.info("workers_started", workers=workers, pids=sorted(children))
    quick_deaths = 0
    last_cause = ""
    while children:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        worker = children.pop(pid, None)
        if worker is None:
            continue
        on_death(pid)
        death = _death(worker, wait_status)
        if stopping:
            continue
        quick_deaths = quick_deaths + 1 if death.quick else 0
        last_cause = death.cause
        log.error("worker_died", pid=pid, cause=death.cause, quick_deaths_in_a_row=quick_deaths)
        if quick_deaths >= MAX_QUICK_DEATHS:
            stop(signal.SIGTERM, None)
            continue
        time.sleep(RESTART_PAUSE_SECONDS)
        if not stopping:
            spawn()
    if quick_deaths >= MAX_QUICK_DEATHS:
        raise WorkersKeepDying(
            f"the server stopped: {quick_deaths} workers in a row died as they started;"
            f" the last: {last_cause}"
        )
