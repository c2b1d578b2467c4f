"""python-glanceclient against a running catalog: create, upload, list, download, delete."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from glanceclient import Client
from glanceclient.exc import HTTPNotFound

IDENTITY = {"X-Project-Id": "proj-e2e", "X-User-Id": "e2e-user", "X-Roles": "member,reader"}


def glance(url: str) -> Client:
    return Client(endpoint=f"{url}/v2", token="unused", identity_headers=dict(IDENTITY))


def run_flow(url: str, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "disk.img"
    source.write_bytes(data)
    client = glance(url)

    image = client.images.create(name="e2e", disk_format="raw", container_format="bare")
    assert image.status == "queued"
    assert image.owner == "proj-e2e"
    with source.open("rb") as f:
        client.images.upload(image.id, f)

    listed = [i.id for i in client.images.list()]
    assert image.id in listed
    shown = client.images.get(image.id)
    assert shown.status == "active"
    assert shown.size == len(data)
    assert shown.checksum == hashlib.md5(data).hexdigest()
    assert shown.os_hash_value == hashlib.sha512(data).hexdigest()

    downloaded = b"".join(client.images.data(image.id))
    assert downloaded == data

    client.images.delete(image.id)
    with pytest.raises(HTTPNotFound):
        client.images.get(image.id)


def test_the_glanceclient_flow_on_the_embedded_catalog(
    embedded_server: str, tmp_path: Path
) -> None:
    run_flow(embedded_server, tmp_path)


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.s3
def test_the_glanceclient_flow_on_postgres_kafka_and_s3(full_server: str, tmp_path: Path) -> None:
    run_flow(full_server, tmp_path)
