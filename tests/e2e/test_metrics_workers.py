"""`/metrics` of `catalog serve --workers 2` on a listener of its own: whichever worker answers
a scrape, it shows what every worker counted, also what workers that died had counted."""

from __future__ import annotations

import os
import signal
import urllib.request
from contextlib import ExitStack, closing
from functools import partial
from http.client import HTTPConnection
from pathlib import Path

import pytest

from tests.e2e.conftest import start_server, stop_server, unfinished_upload
from tests.e2e.test_workers import IDENTITY as OWNER
from tests.e2e.test_workers import call, children_of
from tests.metrics_text import sample
from tests.serving import ANSWER_SECONDS, unused_port
from tests.waiting import eventually

IDENTITY = {"X-Project-Id": "proj-m", "X-User-Id": "u", "X-Roles": "member,reader"}
CONNECTIONS = 16
ROUTE = "/{version}/schemas/image"


def scraped(metrics_url: str) -> str:
    with urllib.request.urlopen(f"{metrics_url}/metrics", timeout=ANSWER_SECONDS) as answer:
        return str(answer.read().decode())


def requests_counted(metrics_url: str) -> float | None:
    return sample(scraped(metrics_url), "catalog_http_requests_total", route=ROUTE, status="200")


def uploads_in_progress(metrics_url: str) -> float | None:
    return sample(scraped(metrics_url), "catalog_image_uploads_in_progress")


def replaced(parent: int, killed: int) -> bool:
    return len(children_of(parent) - {killed}) == 2


def ask_on_many_connections(url: str) -> None:
    """One request on each of `CONNECTIONS` connections opened together, so that the kernel
    hands them to both workers."""
    host, port = url.removeprefix("http://").split(":")
    with ExitStack() as held:
        connections = [
            HTTPConnection(host, int(port), timeout=ANSWER_SECONDS) for _ in range(CONNECTIONS)
        ]
        for connection in connections:
            held.callback(connection.close)
            connection.connect()
        for connection in connections:
            connection.request("GET", "/v2/schemas/image", headers=IDENTITY)
            assert connection.getresponse().status == 200


@pytest.mark.postgres
def test_a_scrape_sums_every_worker_also_those_that_died(tmp_path: Path, postgres_url: str) -> None:
    metrics_port = unused_port()
    metrics_url = f"http://127.0.0.1:{metrics_port}"
    url, server = start_server(
        tmp_path / "data",
        tmp_path / "server.log",
        {
            "CATALOG_DATABASE_URL": postgres_url,
            "CATALOG_API_WORKERS": "2",
            "CATALOG_METRICS_BIND": f"127.0.0.1:{metrics_port}",
        },
    )
    try:
        ask_on_many_connections(url)
        # Every scrape, whichever worker takes it, counts every request.
        for _ in range(6):
            assert requests_counted(metrics_url) == CONNECTIONS
        image = {"disk_format": "raw", "container_format": "bare"}
        image_id = call("POST", f"{url}/v2/images", image)["id"]
        with closing(unfinished_upload(url, image_id, OWNER)):
            eventually(
                lambda: uploads_in_progress(metrics_url) == 1, "the held upload is in progress"
            )
            # Both workers die and are replaced: what they counted stays, nothing twice; the
            # upload the dead one held is no longer in progress.
            for killed in sorted(children_of(server.pid)):
                os.kill(killed, signal.SIGKILL)
                eventually(
                    partial(replaced, server.pid, killed),
                    "the parent starts a worker in place of the killed one",
                )
            eventually(
                lambda: uploads_in_progress(metrics_url) == 0,
                "a dead worker's upload is no longer in progress",
                transient=(OSError,),
            )
        ask_on_many_connections(url)
        for _ in range(6):
            assert (
                eventually(
                    lambda: requests_counted(metrics_url),
                    "the new workers answer scrapes",
                    transient=(OSError,),
                )
                == 2 * CONNECTIONS
            )
    finally:
        stop_server(server)
    assert server.returncode == 0
