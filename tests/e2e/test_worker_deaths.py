"""`catalog serve --workers N`: a worker's death is logged with its cause; workers that keep
dying as they start stop the server with that cause, instead of being started forever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.workers import MAX_QUICK_DEATHS
from tests.e2e.conftest import start_server, stop_server
from tests.waiting import DEADLINE_SECONDS, eventually

# A server whose workers fail as they start, whatever the reason: the supervisor sees only
# that they die before serving. Its log is JSON, its last line what `catalog` would print.
FAILING_WORKERS = """
import sys
from infra.logging import configure
from infra.operator_errors import OperatorError
from infra.settings import LogSettings
from infra.workers import supervise

def worker(serving):
    raise RuntimeError("the database went away")

configure(LogSettings(format="json"))
try:
    supervise(2, worker)
except OperatorError as e:
    print(*e.lines, sep="\\n", file=sys.stderr)
    sys.exit(1)
"""

# A server whose workers are told to stop the moment they are forked, before they have set
# their own signal handling (as the parent forwarding a SIGTERM to a worker it just started).
STOPPED_AS_FORKED = """
import os, signal, sys, time
from infra import workers
from infra.logging import configure
from infra.operator_errors import OperatorError
from infra.settings import LogSettings

fork = os.fork

def fork_and_stop():
    pid = fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGTERM)
    return pid

def worker(serving):
    serving()
    parent = os.getppid()
    while os.getppid() == parent:  # serves until stopped, or its parent is gone
        time.sleep(0.1)

os.fork = fork_and_stop
configure(LogSettings(format="json"))
try:
    workers.supervise(1, worker)
except OperatorError as e:
    print(*e.lines, sep="\\n", file=sys.stderr)
    sys.exit(1)
"""


def logged(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def supervised(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A supervisor run by `script` in a process of its own, until it stops."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        cwd=tmp_path,
        check=False,
    )


def test_workers_that_keep_dying_as_they_start_stop_the_server(tmp_path: Path) -> None:
    finished = supervised(FAILING_WORKERS, tmp_path)
    assert finished.returncode == 1
    cause = "RuntimeError: the database went away"
    deaths = [line for line in logged(finished.stderr) if line["event"] == "worker_died"]
    assert [death["cause"] for death in deaths] == [cause] * MAX_QUICK_DEATHS
    failures = [line for line in logged(finished.stderr) if line["event"] == "worker_failed"]
    assert failures
    assert "Traceback" in failures[0]["exception"]  # the worker's own line says where
    assert finished.stderr.splitlines()[-1] == (
        f"the server stopped: {MAX_QUICK_DEATHS} workers in a row died as they started;"
        f" the last: {cause}"
    )


def children_of(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@pytest.mark.postgres
def test_a_killed_worker_is_logged_with_its_cause_and_replaced(
    tmp_path: Path, postgres_url: str
) -> None:
    log = tmp_path / "server.log"
    settings = {
        "CATALOG_DATABASE_URL": postgres_url,
        "CATALOG_API_WORKERS": "2",
        "CATALOG_LOG_FORMAT": "json",
    }
    _, server = start_server(tmp_path / "data", log, settings)
    try:
        killed = min(eventually(lambda: children_of(server.pid), "the workers start"))
        os.kill(killed, signal.SIGKILL)

        def death() -> list[dict[str, Any]]:
            return [line for line in logged(log.read_text()) if line["event"] == "worker_died"]

        [died] = eventually(death, "the parent logs the death")
        assert (died["pid"], died["cause"]) == (killed, "killed by SIGKILL")
        eventually(
            lambda: len(children_of(server.pid) - {killed}) == 2, "another worker takes its place"
        )
    finally:
        stop_server(server)
    assert server.returncode == 0


def test_a_worker_told_to_stop_as_it_is_forked_stops(tmp_path: Path) -> None:
    finished = supervised(STOPPED_AS_FORKED, tmp_path)
    deaths = [line for line in logged(finished.stderr) if line["event"] == "worker_died"]
    assert [death["cause"] for death in deaths] == ["killed by SIGTERM"] * MAX_QUICK_DEATHS
