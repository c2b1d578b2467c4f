"""Several stores through the clients: glanceclient's store discovery, an upload to a chosen
store, copy-image and removing a copy, a ranged download, openstacksdk's store list, and the
`glance stores-info` command."""

from __future__ import annotations

import hashlib
import io

import pytest

from tests.e2e.conftest import (
    ADMIN,
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    StartServer,
    glance_api,
    glance_cli,
    sdk,
)

pytestmark = IGNORE_SDK_DEPRECATIONS

DATA = bytes(range(256)) * 1024


@pytest.fixture
def two_store_server(serve: StartServer) -> str:
    return serve(
        {
            "CATALOG_STORES": "fast:file,bulk:file",
            "CATALOG_DEFAULT_STORE": "bulk",
            "CATALOG_STORE_FAST_DESCRIPTION": "Local SSD",
            "CATALOG_STORE_FAST_WEIGHT": "100",
        }
    )


def test_glanceclient_discovers_stores_and_uploads_to_the_one_asked(two_store_server: str) -> None:
    client = glance_api(two_store_server, PROJECT_A)
    assert client.images.get_stores_info()["stores"] == [
        {"id": "fast", "description": "Local SSD"},
        {"id": "bulk", "default": "true"},
    ]
    detail = glance_api(two_store_server, ADMIN).images.get_stores_info_detail()["stores"]
    assert [(s["id"], s["type"], s["weight"]) for s in detail] == [
        ("fast", "file", 100),
        ("bulk", "file", 0),
    ]
    image = client.images.create(name="chosen", disk_format="raw", container_format="bare")
    client.images.upload(image.id, io.BytesIO(DATA), image_size=len(DATA), backend="fast")
    shown = client.images.get(image.id)
    assert (shown.status, shown["stores"], shown.checksum) == (
        "active",
        "fast",
        hashlib.md5(DATA).hexdigest(),
    )
    assert b"".join(client.images.data(image.id)) == DATA

    # An admin copies it into the other store, then lets the first copy go.
    admin = glance_api(two_store_server, ADMIN)
    admin.images.image_import(image.id, method="copy-image", stores=["bulk"])
    assert admin.images.get(image.id)["stores"] == "fast,bulk"
    admin.images.delete_from_store("fast", image.id)
    assert client.images.get(image.id)["stores"] == "bulk"
    assert b"".join(client.images.data(image.id)) == DATA


def test_openstacksdk_lists_stores_and_reads_a_range(two_store_server: str) -> None:
    conn = sdk(two_store_server, PROJECT_A)
    assert [(s.id, s.is_default) for s in conn.image.stores()] == [("fast", None), ("bulk", True)]
    image = conn.image.create_image(
        name="ranged", data=DATA, disk_format="raw", container_format="bare"
    )
    response = conn.session.get(
        f"{two_store_server}/v2/images/{image.id}/file", headers={"Range": "bytes=100-199"}
    )
    assert response.status_code == 206
    assert response.content == DATA[100:200]


def test_the_glance_command_lists_stores(two_store_server: str) -> None:
    listed = glance_cli(two_store_server).run("stores-info")
    assert listed.returncode == 0, listed.stderr
    for shown in ("fast", "bulk", "Local SSD"):
        assert shown in listed.stdout
