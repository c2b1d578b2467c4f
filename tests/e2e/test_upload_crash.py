"""A server killed (SIGKILL) mid-upload: after a restart the image is queued, no bytes remain."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

from tests.e2e.conftest import (
    STOP_SECONDS,
    Server,
    start_server,
    stop_server,
    unfinished_upload,
)
from tests.serving import ANSWER_SECONDS
from tests.waiting import eventually

IDENTITY = {"X-Project-Id": "proj-crash", "X-User-Id": "u", "X-Roles": "member,reader"}
LEASE_SECONDS = "2"


def start(data_dir: Path, log: Path) -> tuple[str, Server]:
    return start_server(data_dir, log, {"CATALOG_UPLOAD_LEASE_SECONDS": LEASE_SECONDS})


def call(method: str, url: str, body: dict[str, object] | None = None) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={**IDENTITY, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=ANSWER_SECONDS) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


def test_an_upload_cut_by_a_killed_server_is_recovered(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    url, server = start(data_dir, log)
    try:
        image = call("POST", f"{url}/v2/images", {"disk_format": "raw", "container_format": "bare"})
        image_url = f"{url}/v2/images/{image['id']}"
        with unfinished_upload(url, str(image["id"]), IDENTITY):
            eventually(lambda: call("GET", image_url)["status"] == "saving", "the upload started")
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=STOP_SECONDS)
    finally:
        if server.poll() is None:
            server.kill()

    url, server = start(data_dir, log)
    try:
        image_url = f"{url}/v2/images/{image['id']}"
        eventually(lambda: call("GET", image_url)["status"] != "saving", "the upload recovered")
        assert call("GET", image_url)["status"] == "queued"
        assert list((data_dir / "stores" / "file").iterdir()) == []
    finally:
        stop_server(server)
