"""An upload cut short by its store (a real full disk: a small tmpfs; a part the real S3 server
refused as damaged on its way) leaves the image queued, no bytes behind, and the attempt
recorded; the store's error is answered as Glance does."""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.bootstrap import Container
from infra.settings import StoresSettings
from stores import s3_multipart
from stores.s3_checksums import crc32_of
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
    stored_files,
)
from tests.s3_admin import S3Admin

DISK = 2 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB filesystem of its own (tmpfs), unmounted afterwards."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, f"this test mounts a tmpfs (needs root): {mounted.stderr}"
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


@pytest.fixture
async def api_on_small_disk(
    tmp_path: Path, small_disk: Path, sqlite_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    stores = StoresSettings(options={"file": {"dir": small_disk}})
    return await api_for(embedded_settings(tmp_path, sqlite_url, stores=stores))


async def test_a_full_disk_mid_upload_leaves_the_image_queued_and_no_bytes(
    api_on_small_disk: tuple[ApiClient, Container], small_disk: Path
) -> None:
    api, container = api_on_small_disk
    image_id = await created_image_id(api)
    before = await event_count(container, image_id)
    response = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"\x01" * (2 * DISK)),
        headers={**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"},
    )
    assert response.status == 413
    assert (await response.json())["message"].startswith("Image storage media is full")
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert (shown["status"], shown["size"]) == ("queued", None)
    assert stored_files(container) == []
    # Started, then failed: the attempt is history, the image is as it was.
    assert await event_count(container, image_id) == before + 2

    # The disk has room again: the same image takes data that fits.
    retry = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"\x02" * (DISK // 2)),
        headers={**PROJECT_A, "Content-Type": "application/octet-stream"},
    )
    assert retry.status == 204


@pytest.fixture
async def api_on_s3(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder, s3_admin: S3Admin
) -> tuple[ApiClient, Container]:
    stores = StoresSettings(
        stores="objects:s3", options={"objects": s3_admin.store_options()}, default_store="objects"
    )
    return await api_for(embedded_settings(tmp_path, sqlite_url, stores=stores))


@pytest.mark.s3
async def test_a_part_damaged_on_its_way_to_s3_is_a_503_and_leaves_no_bytes(
    api_on_s3: tuple[ApiClient, Container], s3_admin: S3Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = api_on_s3
    image_id = await created_image_id(api)
    before = await event_count(container, image_id)
    data = b"\x03" * (24 * 1024 * 1024)  # a multipart upload: a part of 20 MiB, one of 4
    headers = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}

    def checksum_then_damage(part: io.BytesIO) -> str:
        checksum = crc32_of(part)
        with part.getbuffer() as sent:
            sent[0] ^= 0x01  # one bit flipped after the checksum was taken
        return checksum

    with monkeypatch.context() as damaging:
        damaging.setattr(s3_multipart, "crc32_of", checksum_then_damage)
        response = await api.put(
            f"/v2/images/{image_id}/file", data=io.BytesIO(data), headers=headers
        )
    assert response.status == 503, await response.text()
    assert (await response.json())["message"].startswith("The image store is not available")
    shown = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    assert (shown["status"], shown["size"]) == ("queued", None)
    assert await asyncio.to_thread(s3_admin.keys) == []
    assert await asyncio.to_thread(s3_admin.uploads) == []
    assert await event_count(container, image_id) == before + 2

    # Nothing damaged this time: the same image takes the same bytes.
    retry = await api.put(f"/v2/images/{image_id}/file", data=io.BytesIO(data), headers=headers)
    assert retry.status == 204
    assert len(await asyncio.to_thread(s3_admin.keys)) == 1
