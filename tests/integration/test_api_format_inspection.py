"""Uploads are inspected as they stream: real images become active with their virtual size;
data that is not its disk format, or is hostile, is refused with 415 and leaves nothing."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiClient,
    created_image_id,
    event_count,
    stored_files,
)

OCTETS = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}


def qemu_image(folder: Path, name: str, size: str, *options: str) -> bytes:
    """The bytes of a new image made by `qemu-img create <options> <name> <size>`."""
    qemu_img = shutil.which("qemu-img")
    assert qemu_img, "qemu-img is missing: install Debian's qemu-utils (infra/local/tools does)"
    path = folder / name
    subprocess.run([qemu_img, "create", "-q", *options, str(path), size], check=True)
    return path.read_bytes()


async def _shown(api: ApiClient, image_id: str) -> dict[str, object]:
    shown: dict[str, object] = await (
        await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)
    ).json()
    return shown


async def test_a_real_qcow2_becomes_active_with_its_virtual_size(
    api: ApiClient, tmp_path: Path
) -> None:
    data = await asyncio.to_thread(qemu_image, tmp_path, "disk.qcow2", "1G", "-f", "qcow2")
    image_id = await created_image_id(api, disk_format="qcow2")
    response = await api.put(f"/v2/images/{image_id}/file", data=io.BytesIO(data), headers=OCTETS)
    assert response.status == 204, await response.text()
    shown = await _shown(api, image_id)
    assert (shown["status"], shown["size"], shown["virtual_size"]) == ("active", len(data), 1 << 30)


async def test_raw_data_under_a_qcow2_claim_is_refused_and_leaves_nothing(
    api: ApiClient, container: Container
) -> None:
    image_id = await created_image_id(api, disk_format="qcow2")
    before = await event_count(container, image_id)
    response = await api.put(
        f"/v2/images/{image_id}/file", data=io.BytesIO(b"\x01" * 300_000), headers=OCTETS
    )
    assert response.status == 415
    assert (await response.json())["message"] == (
        "The request media type application/octet-stream is not supported by this server."
        "\n<br /><br />\nImage disk_format qcow2 does not match stream data raw"
    )
    shown = await _shown(api, image_id)
    assert (shown["status"], shown["size"], shown["virtual_size"]) == ("queued", None, None)
    assert stored_files(container) == []
    assert await event_count(container, image_id) == before + 2  # started, failed


@pytest.mark.parametrize("claimed", ["qcow2", "raw"])
async def test_a_qcow2_with_a_backing_file_is_refused_whatever_it_claims(
    api: ApiClient, container: Container, tmp_path: Path, claimed: str
) -> None:
    # -u: qemu-img does not open the backing file, so it may name any host file.
    options = ["-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", "-u"]
    hostile = await asyncio.to_thread(qemu_image, tmp_path, "overlay.qcow2", "1M", *options)
    image_id = await created_image_id(api, disk_format=claimed)
    response = await api.put(
        f"/v2/images/{image_id}/file", data=io.BytesIO(hostile), headers=OCTETS
    )
    assert response.status == 415
    assert (
        "Image failed safety checks: qcow2 image has a backing file"
        in (await response.json())["message"]
    )
    assert (await _shown(api, image_id))["status"] == "queued"
    assert stored_files(container) == []


async def test_data_inside_a_container_format_is_not_inspected(api: ApiClient) -> None:
    image_id = await created_image_id(api, disk_format="qcow2", container_format="ova")
    response = await api.put(
        f"/v2/images/{image_id}/file", data=io.BytesIO(b"an ova archive"), headers=OCTETS
    )
    assert response.status == 204


async def test_staged_data_is_checked_at_import_and_goes_if_it_does_not_match(
    api: ApiClient, container: Container
) -> None:
    image_id = await created_image_id(api, disk_format="vhd")
    staged = await api.put(
        f"/v2/images/{image_id}/stage", data=io.BytesIO(b"\x02" * 70_000), headers=OCTETS
    )
    assert staged.status == 204
    response = await api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "glance-direct"}},
        headers={**PROJECT_A, **JSON},
    )
    assert response.status == 415
    assert (
        "Image disk_format vhd does not match stream data raw" in (await response.json())["message"]
    )
    shown = await _shown(api, image_id)
    assert (shown["status"], shown["size"]) == ("queued", None)
    assert stored_files(container) == []
