"""The image cache through the real clients: python-glanceclient (its API and the `glance`
command line), openstacksdk and the `openstack` command line, against a `catalog serve` whose
data is on the S3 server."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openstack.exceptions
import pytest
from glanceclient.exc import HTTPForbidden

from tests.e2e.conftest import (
    ADMIN,
    CLI_PROJECT,
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    StartServer,
    glance_api,
    glance_cli,
    openstack_cli,
    s3_store,
    sdk,
)
from tests.waiting import eventually

pytestmark = [pytest.mark.s3, *IGNORE_SDK_DEPRECATIONS]


@pytest.fixture
def cached_server(serve: StartServer, tmp_path: Path) -> str:
    """An embedded catalog (the command lines act as an admin) with its images on S3 and a
    cache on this node."""
    return serve(
        {
            "CATALOG_API_DEFAULT_PROJECT": CLI_PROJECT,
            **s3_store(),
            "CATALOG_IMAGE_CACHE_DIR": str(tmp_path / "cache"),
        }
    )


def uploaded(url: str, data: bytes) -> str:
    client = glance_api(url, PROJECT_A)
    image = client.images.create(name="cached", disk_format="raw", container_format="bare")
    client.images.upload(image.id, io.BytesIO(data), image_size=len(data))
    image_id: str = image.id
    return image_id


def cached_by(state: Callable[[], dict[str, Any]], image_id: str) -> Callable[[], bool]:
    def cached() -> bool:
        current = state()
        ids = [entry["image_id"] for entry in current["cached_images"]]
        return image_id in ids and image_id not in current["queued_images"]

    return cached


def test_glanceclient_queues_lists_deletes_and_clears(cached_server: str) -> None:
    data = os.urandom(2 * 1024 * 1024 + 3)
    image_id = uploaded(cached_server, data)
    cli = glance_cli(cached_server)
    client = glance_api(cached_server, ADMIN)

    cli("cache-queue", image_id)
    eventually(cached_by(client.cache.list, image_id), "the queued image cached")
    listed = cli("cache-list")
    assert image_id in listed
    assert "cached" in listed
    assert b"".join(glance_api(cached_server, PROJECT_A).images.data(image_id)) == data

    cli("cache-delete", image_id)
    assert image_id not in cli("cache-list")

    assert b"".join(glance_api(cached_server, PROJECT_A).images.data(image_id)) == data
    eventually(cached_by(client.cache.list, image_id), "the downloaded image cached")
    cli("cache-clear", "--target", "cache")
    assert client.cache.list()["cached_images"] == []
    cli("cache-clean")
    cli("cache-prune")
    with pytest.raises(HTTPForbidden):
        glance_api(cached_server, PROJECT_A).cache.list()


def test_openstacksdk_queues_lists_deletes_and_clears(cached_server: str) -> None:
    data = os.urandom(1024 * 1024)
    image_id = uploaded(cached_server, data)
    conn = sdk(cached_server, ADMIN)

    def state() -> dict[str, Any]:
        cache = conn.image.get_image_cache()
        return {
            "cached_images": [{"image_id": e.image_id} for e in cache.cached_images or []],
            "queued_images": cache.queued_images or [],
        }

    conn.image.queue_image(image_id)
    eventually(cached_by(state, image_id), "the queued image cached")
    conn.image.cache_delete_image(image_id)
    assert state()["cached_images"] == []
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.image.cache_delete_image(str(uuid.uuid4()), ignore_missing=False)

    assert (
        b"".join(
            sdk(cached_server, PROJECT_A)
            .image.download_image(image_id, stream=True)
            .iter_content(1 << 20)
        )
        == data
    )
    eventually(cached_by(state, image_id), "the downloaded image cached")
    conn.image.clear_cache("both")
    assert state()["cached_images"] == []
    assert conn.image.prune_cache() == {"total_files_pruned": 0, "total_bytes_pruned": 0}
    conn.image.clean_cache()
    with pytest.raises(openstack.exceptions.ForbiddenException):
        sdk(cached_server, PROJECT_A).image.get_image_cache()


def test_the_openstack_command_line_queues_lists_deletes_and_clears(
    cached_server: str, keystone: str
) -> None:
    image_id = uploaded(cached_server, os.urandom(1024 * 1024))
    cli = openstack_cli(cached_server, keystone)

    def state() -> dict[str, Any]:
        listed = cli.json("cached", "image", "list")
        return {
            "cached_images": [{"image_id": e["ID"]} for e in listed if e["State"] == "cached"],
            "queued_images": [e["ID"] for e in listed if e["State"] == "queued"],
        }

    cli("cached", "image", "queue", image_id)
    eventually(cached_by(state, image_id), "the queued image cached")
    cli("cached", "image", "delete", image_id)
    assert state()["cached_images"] == []
    cli("cached", "image", "queue", image_id)
    eventually(cached_by(state, image_id), "the image queued again cached")
    cli("cached", "image", "clear", "--cache")
    assert state()["cached_images"] == []
