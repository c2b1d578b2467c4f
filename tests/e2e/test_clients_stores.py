"""Several stores through the clients: glanceclient's store discovery, an upload to a chosen
store, copy-image and removing a copy, a ranged download, openstacksdk's store list, and the
`glance stores-info` command."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

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
from tests.waiting import eventually

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
    assert imported(admin, image.id)["stores"] == "fast,bulk"
    admin.images.delete_from_store("fast", image.id)
    assert client.images.get(image.id)["stores"] == "bulk"
    assert b"".join(client.images.data(image.id)) == DATA


def imported(client: Any, image_id: str) -> Any:
    """The image once its import ended (its lock released), as glanceclient shows it."""
    return eventually(
        lambda: (
            (image := client.images.get(image_id)).get("os_glance_importing_to_stores") == ""
            and "os_glance_import_task" not in image
            and image
        ),
        f"image {image_id} imported",
    )


def test_glance_direct_into_the_stores_asked_through_every_client(
    two_store_server: str, tmp_path: Path
) -> None:
    """glanceclient's import with `stores` and `all_stores`, `glance image-import --stores` and
    `--all-stores`, `glance image-create-via-import --stores`, openstacksdk's import with
    `all_stores`."""
    client = glance_api(two_store_server, PROJECT_A)
    first = client.images.create(name="to-fast", disk_format="raw", container_format="bare")
    client.images.stage(first.id, io.BytesIO(DATA))
    client.images.image_import(first.id, method="glance-direct", stores=["fast"])
    shown = imported(client, first.id)
    assert (shown.status, shown["stores"], shown["os_glance_failed_import"]) == (
        "active",
        "fast",
        "",
    )
    everywhere = client.images.create(name="all", disk_format="raw", container_format="bare")
    client.images.stage(everywhere.id, io.BytesIO(DATA))
    client.images.image_import(everywhere.id, method="glance-direct", all_stores=True)
    assert imported(client, everywhere.id)["stores"] == "fast,bulk"
    assert b"".join(client.images.data(everywhere.id)) == DATA

    glance = glance_cli(two_store_server)
    staged = client.images.create(name="cli", disk_format="raw", container_format="bare")
    client.images.stage(staged.id, io.BytesIO(DATA))
    glance("image-import", staged.id, "--import-method", "glance-direct", "--stores", "fast")
    assert imported(client, staged.id)["stores"] == "fast"
    again = client.images.create(name="cli-all", disk_format="raw", container_format="bare")
    client.images.stage(again.id, io.BytesIO(DATA))
    glance("image-import", again.id, "--import-method", "glance-direct", "--all-stores", "True")
    assert imported(client, again.id)["stores"] == "fast,bulk"
    source = tmp_path / "disk.raw"
    source.write_bytes(DATA)
    output = glance(
        "image-create-via-import", "--import-method", "glance-direct", "--stores", "fast",
        "--disk-format", "raw", "--container-format", "bare", "--name", "cli-via-import",
        stdin=source,
    )  # fmt: skip
    assert "cli-via-import" in output
    admin = glance_api(two_store_server, ADMIN)  # the command runs as a project of its own
    [created] = admin.images.list(filters={"name": "cli-via-import"})
    assert imported(admin, created.id)["stores"] == "fast"

    conn = sdk(two_store_server, PROJECT_A)
    image = conn.image.create_image(name="sdk", disk_format="raw", container_format="bare")
    conn.image.stage_image(image, data=DATA)
    response = conn.image.import_image(image, method="glance-direct", all_stores=True)
    assert response.status_code == 202
    assert imported(client, image.id)["stores"] == "fast,bulk"


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
