"""One access line per request in the server's log: method, path, status, bytes, duration,
request id and project; health checks that pass only at DEBUG."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.conftest import StartServer
from tests.waiting import eventually

PROJECT = {"X-Project-Id": "proj-log", "X-User-Id": "ann", "X-Roles": "member,reader"}


def call(url: str, method: str = "GET", data: bytes | None = None, **headers: str) -> Any:
    request = urllib.request.Request(url, data=data, method=method, headers={**PROJECT, **headers})
    return urllib.request.urlopen(request, timeout=60)


def access_lines(log: Path) -> dict[str, dict[str, Any]]:
    """The access lines logged so far, by request id."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {line["request_id"]: line for line in lines if line["event"] == "request"}


def test_every_request_is_one_access_line(serve: StartServer, tmp_path: Path) -> None:
    url = serve({"CATALOG_LOG_FORMAT": "json", "CATALOG_API_AUTH_MODE": "trusted-headers"})
    body = json.dumps({"name": "logged", "disk_format": "raw", "container_format": "bare"})
    with call(
        f"{url}/v2/images", "POST", body.encode(), **{"Content-Type": "application/json"}
    ) as r:
        created, created_id = json.loads(r.read()), r.headers["x-openstack-request-id"]
        created_length = int(r.headers["Content-Length"])
    data = b"x" * 5000
    file = f"{url}/v2/images/{created['id']}/file"
    with call(file, "PUT", data, **{"Content-Type": "application/octet-stream"}) as r:
        uploaded_id = r.headers["x-openstack-request-id"]
    with call(file) as r:
        assert r.read() == data
        downloaded_id = r.headers["x-openstack-request-id"]
    with urllib.request.urlopen(f"{url}/healthcheck", timeout=60) as r:
        checked_id = r.headers["x-openstack-request-id"]

    log = tmp_path / "server.log"
    # Each line is written once its response has gone: the download's comes last.
    eventually(lambda: downloaded_id in access_lines(log), "the download's access line")
    lines = access_lines(log)
    create = lines[created_id]
    assert {k: create[k] for k in ("method", "path", "status", "project_id", "user_id")} == {
        "method": "POST",
        "path": "/v2/images",
        "status": 201,
        "project_id": "proj-log",
        "user_id": "ann",
    }
    assert create["level"] == "info"
    assert create["bytes"] == created_length
    assert isinstance(create["duration_ms"], float | int)
    assert create["client"] == "127.0.0.1"
    assert (lines[uploaded_id]["method"], lines[uploaded_id]["status"]) == ("PUT", 204)
    download = lines[downloaded_id]
    assert (download["path"], download["status"], download["bytes"]) == (
        f"/v2/images/{created['id']}/file",
        200,
        len(data),
    )
    assert checked_id not in lines  # a passing health check is a DEBUG line
