"""Several server processes on one listening socket (PostgreSQL deployments).

One Python process serves on one core. `catalog serve --workers N` binds the socket once, then
forks N processes that accept on it; the kernel spreads connections among them. Each worker is
a whole server (its own pools, node id, heartbeat and recovery; the relay lock lets one of them
publish). The parent only supervises: it forwards SIGTERM/SIGINT, and starts a worker again if
one dies while the server is meant to run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

import structlog

from infra.operator_errors import OperatorError

log = structlog.get_logger(__name__)

RESTART_PAUSE_SECONDS = 1.0


class CannotListen(OperatorError):
    """The address to serve on cannot be bound."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port`, which worker processes inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as e:
        # Python adds the address it tried to the system's words: it is said already.
        reason = (e.strerror or str(e)).partition(" (while attempting to bind")[0]
        raise CannotListen(
            f"cannot listen on {host}:{port} (--bind, CATALOG_API_BIND): {reason}"
        ) from e
    sock.set_inheritable(True)
    return sock


def supervise(workers: int, run_worker: Callable[[], None]) -> None:
    """Fork `workers` processes running `run_worker`; returns when all have stopped."""
    stopping = False
    children: set[int] = set()

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker: default signal handling, then serve until told to stop
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                run_worker()
            except BaseException:
                code = 1
            os._exit(code)
        children.add(pid)

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):  # it has just exited
                os.kill(pid, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    log.info("workers_started", workers=workers, pids=sorted(children))
    while children:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        if stopping:
            continue
        log.error("worker_died", pid=pid, exit_code=code)
        time.sleep(RESTART_PAUSE_SECONDS)  # a worker failing at start must not spin
        if not stopping:
            spawn()
