"""A server killed (SIGKILL) mid-upload: after a restart the image is queued, no bytes remain,
in a folder or in S3 (not even a multipart upload holding parts out of sight)."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import upload_head
from tests.e2e.conftest import STOP_SECONDS, Server, start_server, stop_server
from tests.s3_admin import S3Admin
from tests.serving import ANSWER_SECONDS
from tests.waiting import eventually

IDENTITY = {"X-Project-Id": "proj-crash", "X-User-Id": "u", "X-Roles": "member,reader"}
LEASE_SECONDS = "2"
DECLARED = 100 << 20


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


def status_of(image_url: str) -> object:
    return call("GET", image_url)["status"]


Reached = Callable[[str, str], None]
"""Returns once the upload of an image (its URL, its id) got as far as the test needs."""
Crash = Callable[[dict[str, str], int, Reached], str]


@pytest.fixture
def crash(tmp_path: Path) -> Iterator[Crash]:
    """A function that starts a server with the environment given, uploads part of an image
    (the bytes `sent` of 100 MB declared), kills the server with SIGKILL once `reached`
    returns, and starts it again; it returns the image's URL on the new server."""
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    restarted: list[Server] = []

    def cut_short(env: dict[str, str], sent: int, reached: Reached) -> str:
        url, server = start_server(data_dir, log, env)
        try:
            image = call(
                "POST", f"{url}/v2/images", {"disk_format": "raw", "container_format": "bare"}
            )
            image_id = str(image["id"])
            host, port = url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port))) as client:
                client.sendall(upload_head(host, image_id, DECLARED, IDENTITY) + bytes(sent))
                reached(f"{url}/v2/images/{image_id}", image_id)
                server.send_signal(signal.SIGKILL)
                server.wait(timeout=STOP_SECONDS)
        finally:
            if server.poll() is None:
                server.kill()
        url, server = start_server(data_dir, log, env)
        restarted.append(server)
        return f"{url}/v2/images/{image_id}"

    yield cut_short
    for server in restarted:
        stop_server(server)


def saving(image_url: str, image_id: str) -> None:
    eventually(lambda: status_of(image_url) == "saving", "the upload started")


def test_an_upload_cut_by_a_killed_server_is_recovered(tmp_path: Path, crash: Crash) -> None:
    image_url = crash({"CATALOG_UPLOAD_LEASE_SECONDS": LEASE_SECONDS}, 8 << 20, saving)

    eventually(lambda: status_of(image_url) != "saving", "the upload recovered")
    assert status_of(image_url) == "queued"
    assert list((tmp_path / "data" / "stores" / "file").iterdir()) == []


@pytest.mark.s3
def test_a_multipart_upload_cut_by_a_killed_server_is_aborted(
    crash: Crash, s3_admin: S3Admin
) -> None:
    options = {**s3_admin.store_options(), "multipart_threshold_mib": "0", "part_size_mib": "5"}
    env = {
        "CATALOG_UPLOAD_LEASE_SECONDS": LEASE_SECONDS,
        "CATALOG_STORES": "s3:s3",
        **{f"CATALOG_STORE_S3_{name.upper()}": value for name, value in options.items()},
    }

    def a_part_stored(image_url: str, image_id: str) -> None:
        s3_admin.wait_for_a_part(image_id)

    # 5 MiB parts: the first one (two 4 MiB blocks) is out after 8 MiB.
    image_url = crash(env, 12 << 20, a_part_stored)

    eventually(lambda: status_of(image_url) != "saving", "the upload recovered")
    assert status_of(image_url) == "queued"
    image_id = image_url.rsplit("/", 1)[1]
    assert s3_admin.keys(image_id) == []
    assert s3_admin.uploads(image_id) == []
