"""A real `catalog serve` process: embedded, or on PostgreSQL + Kafka + S3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import service_setting

STARTUP_SECONDS = 30

Server = subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(f"{url}/versions", timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError(f"the server did not answer within {STARTUP_SECONDS}s:\n{log.read_text()}")


def start_server(data_dir: Path, log: Path, extra_env: dict[str, str]) -> tuple[str, Server]:
    """A `catalog serve` on a free loopback port, answering; its output appended to `log`."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")},
        "CATALOG_DATA_DIR": str(data_dir),
        **extra_env,
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
    except BaseException:
        stop_server(process)
        raise
    return url, process


def stop_server(process: Server) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


StartServer = Callable[[dict[str, str]], str]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[StartServer]:
    """A function that starts a server with extra environment and returns its base URL."""
    processes: list[Server] = []

    def start(extra_env: dict[str, str]) -> str:
        url, process = start_server(tmp_path / "data", tmp_path / "server.log", extra_env)
        processes.append(process)
        return url

    yield start
    for process in processes:
        stop_server(process)


@pytest.fixture
def embedded_server(serve: StartServer) -> str:
    return serve({})


@pytest.fixture
def full_server(serve: StartServer, postgres_url: str) -> str:
    """PostgreSQL for the log and views, S3 for the data, Kafka for the events."""
    return serve(
        {
            "CATALOG_DATABASE_URL": postgres_url,
            "CATALOG_KAFKA_BOOTSTRAP_SERVERS": service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP"),
            "CATALOG_KAFKA_EVENTS_TOPIC": f"catalog.events.e2e-{uuid.uuid4().hex[:8]}",
            "CATALOG_STORE_DEFAULT": "s3",
            "CATALOG_STORE_S3_ENDPOINT": service_setting("CATALOG_TEST_S3_ENDPOINT"),
            "CATALOG_STORE_S3_ACCESS_KEY": service_setting("CATALOG_TEST_S3_ACCESS_KEY"),
            "CATALOG_STORE_S3_SECRET_KEY": service_setting("CATALOG_TEST_S3_SECRET_KEY"),
            "CATALOG_STORE_S3_REGION": service_setting("CATALOG_TEST_S3_REGION"),
            "CATALOG_STORE_S3_BUCKET": f"e2e-{uuid.uuid4().hex[:12]}",
        }
    )
