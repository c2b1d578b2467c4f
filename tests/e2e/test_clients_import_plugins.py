"""Import plugins seen through glanceclient: a qcow2 image staged and imported into a catalog
that converts imports to raw and injects a property, as an operator would configure it."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

from tests.e2e.conftest import PROJECT_A, StartServer, glance_api
from tests.waiting import eventually


def test_glanceclient_imports_a_qcow2_stored_as_raw(
    serve: StartServer, qemu_img: str, tmp_path: Path
) -> None:
    url = serve(
        {
            "CATALOG_IMPORT_PLUGINS": "inject_image_metadata,image_conversion",
            "CATALOG_IMPORT_INJECT": "converted_by:catalog",
        }
    )
    disk = tmp_path / "disk.qcow2"
    subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", str(disk), "2M"], check=True)
    client = glance_api(url, PROJECT_A)
    image = client.images.create(name="to-raw", disk_format="qcow2", container_format="bare")
    client.images.stage(image.id, io.BytesIO(disk.read_bytes()))
    client.images.image_import(image.id, method="glance-direct")

    imported = eventually(
        lambda: (shown := client.images.get(image.id)).status == "active" and shown,
        "the import to end",
    )
    raw = bytes(2 << 20)
    assert (imported.disk_format, imported.container_format) == ("raw", "bare")
    assert (imported.size, imported.virtual_size) == (len(raw), len(raw))
    assert imported.checksum == hashlib.md5(raw).hexdigest()
    assert imported.converted_by == "catalog"
    assert b"".join(client.images.data(image.id)) == raw
