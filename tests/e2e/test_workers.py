"""`catalog serve --workers N`: several processes on one socket, stopped together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import start_server, stop_server
from tests.serving import ANSWER_SECONDS
from tests.waiting import eventually

IDENTITY = {"X-Project-Id": "proj-w", "X-User-Id": "u", "X-Roles": "member,reader"}


def children_of(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def call(method: str, url: str, body: object | None = None) -> Any:
    """One request on a connection of its own, so the kernel may hand it to any worker."""
    data = None if body is None else json.dumps(body).encode()
    headers = {**IDENTITY, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=ANSWER_SECONDS) as response:
        return json.loads(response.read())


@pytest.mark.postgres
def test_workers_share_the_socket_and_stop_with_the_server(
    tmp_path: Path, postgres_url: str
) -> None:
    url, server = start_server(
        tmp_path / "data",
        tmp_path / "server.log",
        {"CATALOG_DATABASE_URL": postgres_url, "CATALOG_API_WORKERS": "2"},
    )
    try:
        workers = children_of(server.pid)
        assert len(workers) == 2
        created = [
            call("POST", f"{url}/v2/images", {"name": f"w{n}", "disk_format": "raw"})["id"]
            for n in range(12)
        ]
        listed = call("GET", f"{url}/v2/images?limit=100")["images"]
        assert {image["id"] for image in listed} == set(created)

        killed = min(workers)
        os.kill(killed, signal.SIGKILL)
        eventually(
            lambda: len(children_of(server.pid) - {killed}) == 2,
            "the parent starts a worker in place of the killed one",
        )
        workers = children_of(server.pid)
        assert len(call("GET", f"{url}/v2/images?limit=100")["images"]) == 12
    finally:
        stop_server(server)
    assert server.returncode == 0
    # The parent returns only once it has reaped every worker: none is left running.
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_several_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    result = subprocess.run(
        [sys.executable, "-m", "infra.cli", "serve", "--bind", "127.0.0.1:0", "--workers", "2"],
        env={**env, "CATALOG_DATA_DIR": str(tmp_path)},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.decode().splitlines() == [
        "catalog: CATALOG_API_WORKERS, --workers: more than 1 needs PostgreSQL"
        " (CATALOG_DATABASE_URL)"
    ]
