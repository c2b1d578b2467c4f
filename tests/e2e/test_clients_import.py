"""Interoperable import (glance-direct) through the clients that use it: glanceclient's stage
and import calls, `glance image-create-via-import`, openstacksdk's `use_import` and
`openstack image create --import`."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from glanceclient.exc import HTTPConflict

from tests.e2e.conftest import (
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    glance_api,
    glance_cli,
    openstack_cli,
    sdk,
)
from tests.waiting import eventually

pytestmark = IGNORE_SDK_DEPRECATIONS

DATA = b"imported through glance-direct\n" * 4096


@pytest.mark.parametrize(
    "server",
    ["embedded_server", pytest.param("full_server", marks=[pytest.mark.postgres, pytest.mark.s3])],
)
def test_glanceclient_stages_then_imports(server: str, request: pytest.FixtureRequest) -> None:
    """Embedded (SQLite, files) and full (PostgreSQL, Kafka, staging into S3)."""
    client = glance_api(request.getfixturevalue(server), PROJECT_A)
    image = client.images.create(name="staged", disk_format="raw", container_format="bare")
    with pytest.raises(HTTPConflict, match="needs to be staged"):
        client.images.image_import(image.id, method="glance-direct")
    client.images.stage(image.id, io.BytesIO(DATA))
    assert client.images.get(image.id).status == "uploading"
    client.images.image_import(image.id, method="glance-direct")
    imported = eventually(
        lambda: (shown := client.images.get(image.id)).status == "active" and shown,
        "the import to end",
    )
    assert (imported.status, imported.checksum) == ("active", hashlib.md5(DATA).hexdigest())
    assert b"".join(client.images.data(image.id)) == DATA


def test_openstacksdk_creates_with_import(embedded_server: str) -> None:
    conn = sdk(embedded_server, PROJECT_A)
    image = conn.image.create_image(
        name="sdk-import",
        disk_format="raw",
        container_format="bare",
        data=DATA,
        use_import=True,
        wait=True,
    )
    # The import ends in the background, as on Glance: openstacksdk returns before.
    shown = eventually(
        lambda: (found := conn.image.get_image(image.id)).status == "active" and found,
        "the import to end",
    )
    assert (shown.status, shown.size) == ("active", len(DATA))
    assert conn.image.download_image(shown).content == DATA


def test_the_command_lines_create_via_import(catalog: str, keystone: str, tmp_path: Path) -> None:
    source = tmp_path / "disk.raw"
    source.write_bytes(DATA)
    osc = openstack_cli(catalog, keystone)
    created = osc.json(
        "image", "create", "--import", "--file", str(source),
        "--disk-format", "raw", "--container-format", "bare", "osc-import",
    )  # fmt: skip
    shown = eventually(
        lambda: (image := osc.json("image", "show", created["id"]))["status"] == "active" and image,
        "the CLI's import to end",
    )
    assert (shown["status"], shown["checksum"]) == ("active", hashlib.md5(DATA).hexdigest())

    glance = glance_cli(catalog)
    # The glance CLI reads the data from its standard input when that is not a terminal.
    output = glance(
        "image-create-via-import", "--import-method", "glance-direct",
        "--disk-format", "raw", "--container-format", "bare", "--name", "cli-import",
        stdin=source,
    )  # fmt: skip
    assert "cli-import" in output
    listed = eventually(
        lambda: (
            [i["Status"] for i in osc.json("image", "list", "--name", "cli-import", "--long")]
            == ["active"]
        ),
        "the CLI's import to end",
    )
    assert listed
