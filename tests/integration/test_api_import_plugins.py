"""Import plugins operators enable (`CATALOG_IMPORT_PLUGINS`): image_conversion with the real
qemu-img, and inject_image_metadata, on glance-direct and web-download imports.

A conversion refused fails the import: its task says why, the image is `queued` again, and no
byte is left, neither staged nor converted."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap import Container
from infra.settings import ImportSettings, StoresSettings
from tests.conftest import s3_store_options
from tests.disk_images import iso
from tests.http_origin import Origin, serving
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    run_catalog,
    settled,
    stored_files,
)
from tests.integration.test_api_history import history_of
from tests.integration.test_api_import import show, stage, start_import
from tests.integration.test_api_multistore_import import tasks_of
from tests.integration.test_web_download import downloading_api, web_download
from tests.integration.test_web_download import imported as web_imported

MiB = 1 << 20


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "converting"
    folder.mkdir()
    return folder


@pytest.fixture
def converting(
    tmp_path: Path, database_url: str, work_dir: Path, api_for: ApiBuilder, qemu_img: str
) -> Any:
    """An API whose imports convert to raw, on both databases."""

    async def make() -> tuple[ApiClient, Container]:
        imports = ImportSettings(plugins="image_conversion", conversion_work_dir=work_dir)
        return await api_for(embedded_settings(tmp_path, database_url, imports=imports))

    return make


def disk(qemu_img: str, folder: Path, qemu_format: str) -> bytes:
    """An empty 1 MiB disk of `qemu_format` made by qemu-img."""
    path = folder / f"disk.{qemu_format}"
    subprocess.run([qemu_img, "create", "-q", "-f", qemu_format, str(path), "1M"], check=True)
    return path.read_bytes()


def qcow2(qemu_img: str, folder: Path, *options: str) -> bytes:
    """An empty 1 MiB qcow2 disk made by qemu-img with `options` (which may name
    `folder / "base.raw"`, an empty raw disk)."""
    path = folder / "disk.qcow2"
    (folder / "base.raw").write_bytes(bytes(MiB))
    subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", *options, str(path), "1M"], check=True)
    return path.read_bytes()


async def imported(
    api: ApiClient, data: bytes, disk_format: str, container_format: str = "bare"
) -> str:
    image_id = await created_image_id(
        api, disk_format=disk_format, container_format=container_format
    )
    assert (await stage(api, image_id, data)).status == 204
    assert (await start_import(api, image_id)).status == 202
    await settled(api)
    return image_id


async def task_of(api: ApiClient, image_id: str) -> dict[str, Any]:
    [task] = await tasks_of(api, image_id)
    return task


def left_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def test_a_qcow2_import_is_converted_to_raw(
    converting: Any, qemu_img: str, tmp_path: Path, work_dir: Path
) -> None:
    api, container = await converting()
    image_id = await imported(api, qcow2(qemu_img, tmp_path), "qcow2")

    image = await show(api, image_id)
    raw = bytes(MiB)  # an empty 1 MiB disk, as raw
    assert image["status"] == "active"
    assert (image["disk_format"], image["container_format"]) == ("raw", "bare")
    assert (image["size"], image["virtual_size"]) == (MiB, MiB)
    assert image["checksum"] == hashlib.md5(raw).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(raw).hexdigest()
    download = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await download.read() == raw
    assert (await task_of(api, image_id))["status"] == "success"
    # The format claimed before stays in the image's history; the bytes converted went.
    events = (await history_of(api, image_id))["events"]
    assert any(
        e["change"].get("attributes") == {"disk_format": "raw", "container_format": "bare"}
        for e in events
    )
    assert len(stored_files(container)) == 1
    assert left_in(work_dir) == []


async def test_a_web_download_is_converted_too(
    tmp_path: Path, database_url: str, api_for: ApiBuilder, qemu_img: str, work_dir: Path
) -> None:
    remote = tmp_path / "remote.qcow2"
    remote.write_bytes(qcow2(qemu_img, tmp_path))
    imports = ImportSettings(plugins="image_conversion", conversion_work_dir=work_dir)
    api, container = await downloading_api(tmp_path, database_url, api_for, imports=imports)
    image_id = await created_image_id(api, disk_format="qcow2", container_format="bare")
    async with serving(Origin(remote)) as url:
        task = await web_imported(api, image_id, web_download(f"{url}/image"))
    assert task["status"] == "success", task["message"]
    image = await show(api, image_id)
    assert (image["status"], image["disk_format"], image["size"]) == ("active", "raw", MiB)
    download = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await download.read() == bytes(MiB)
    assert len(stored_files(container)) == 1
    assert left_in(work_dir) == []


async def test_a_vhd_import_is_converted_by_qemu_imgs_name_for_it(
    converting: Any, qemu_img: str, tmp_path: Path
) -> None:
    api, _ = await converting()
    image_id = await imported(api, disk(qemu_img, tmp_path, "vpc"), "vhd")
    image = await show(api, image_id)
    assert (image["status"], image["disk_format"]) == ("active", "raw")
    assert image["virtual_size"] == image["size"]


async def test_an_iso_is_kept_as_it_is(converting: Any) -> None:
    api, _ = await converting()
    data = iso()
    image_id = await imported(api, data, "iso")
    image = await show(api, image_id)
    assert (image["status"], image["disk_format"], image["size"]) == ("active", "iso", len(data))
    assert image["virtual_size"] == len(data)


async def test_a_raw_import_is_checked_and_kept_as_it_was(converting: Any, work_dir: Path) -> None:
    api, _ = await converting()
    data = b"raw disk " * 4096
    image_id = await imported(api, data, "raw", container_format="ovf")

    image = await show(api, image_id)
    assert (image["status"], image["size"]) == ("active", len(data))
    assert (image["disk_format"], image["container_format"]) == ("raw", "ovf")
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    events = (await history_of(api, image_id))["events"]
    assert [e["type"] for e in events if e["type"] == "image.updated"] == []
    assert left_in(work_dir) == []


def files_in(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in folder.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("asked", "holding"),
    [(["fast", "cheap"], ["fast", "cheap"]), (["fast"], ["fast"])],
    ids=["the-staging-store-too", "another-store"],
)
async def test_every_store_asked_gets_the_converted_disk_and_nothing_else_stays(
    tmp_path: Path,
    database_url: str,
    work_dir: Path,
    api_for: ApiBuilder,
    qemu_img: str,
    asked: list[str],
    holding: list[str],
) -> None:
    folders = {"fast": tmp_path / "fast", "cheap": tmp_path / "cheap"}
    stores = StoresSettings(
        stores="fast:file,cheap:file",
        default_store="cheap",  # where the bytes are staged
        options={name: {"dir": folder} for name, folder in folders.items()},
    )
    imports = ImportSettings(plugins="image_conversion", conversion_work_dir=work_dir)
    settings = embedded_settings(tmp_path, database_url, stores=stores, imports=imports)
    api, _ = await api_for(settings)
    image_id = await created_image_id(api, disk_format="qcow2", container_format="bare")
    assert (await stage(api, image_id, qcow2(qemu_img, tmp_path))).status == 204
    body = {"method": {"name": "glance-direct"}, "stores": asked}
    assert (await start_import(api, image_id, body)).status == 202
    await settled(api)

    image = await show(api, image_id)
    assert (image["status"], image["stores"]) == ("active", ",".join(holding))
    raw = bytes(MiB)
    assert {name: files_in(folder) for name, folder in folders.items()} == {
        name: [raw] if name in holding else [] for name in folders
    }
    assert left_in(work_dir) == []


@pytest.mark.s3
async def test_a_qcow2_staged_in_s3_is_stored_there_as_raw(
    tmp_path: Path, database_url: str, work_dir: Path, api_for: ApiBuilder, qemu_img: str
) -> None:
    """A Ceph-style deployment: object storage only, images kept raw."""
    stores = StoresSettings(stores="objects:s3", options={"objects": s3_store_options("raw")})
    imports = ImportSettings(plugins="image_conversion", conversion_work_dir=work_dir)
    settings = embedded_settings(tmp_path, database_url, stores=stores, imports=imports)
    api, _ = await api_for(settings)
    image_id = await imported(api, qcow2(qemu_img, tmp_path), "qcow2")

    image = await show(api, image_id)
    assert (image["status"], image["disk_format"], image["stores"]) == ("active", "raw", "objects")
    download = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert await download.read() == bytes(MiB)
    assert left_in(work_dir) == []


async def refused(api: ApiClient, container: Container, work_dir: Path, image_id: str) -> str:
    """The import failed: the image is queued, without any byte; the task's message."""
    image = await show(api, image_id)
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None)
    # As Glance's: the stores asked are failed ones, waiters stop waiting on them.
    assert image["os_glance_importing_to_stores"] == ""
    assert image["os_glance_failed_import"] == "file"
    assert stored_files(container) == []
    assert left_in(work_dir) == []
    task = await task_of(api, image_id)
    assert task["status"] == "failure"
    return str(task["message"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("-b", "{base}", "-F", "raw"), "QCOW images with backing files are not allowed"),
        (("-o", "data_file={base}"), "QCOW images with data-file set are not allowed"),
    ],
    ids=["backing-file", "data-file"],
)
async def test_a_qcow2_reading_another_file_is_refused(
    converting: Any,
    qemu_img: str,
    tmp_path: Path,
    work_dir: Path,
    options: tuple[str, ...],
    message: str,
) -> None:
    api, container = await converting()
    data = qcow2(qemu_img, tmp_path, *(o.format(base=tmp_path / "base.raw") for o in options))
    # Not inspected at import for a container other than bare: qemu-img tells.
    image_id = await created_image_id(api, disk_format="qcow2", container_format="ovf")
    assert (await stage(api, image_id, data)).status == 204
    assert (await start_import(api, image_id)).status == 202
    await settled(api)
    assert await refused(api, container, work_dir, image_id) == message


async def test_bytes_that_are_not_the_format_claimed_are_refused(
    converting: Any, work_dir: Path
) -> None:
    api, container = await converting()
    # Not inspected at import for a container other than bare: qemu-img tells.
    image_id = await imported(api, b"not a disk " * 100, "qcow2", container_format="ovf")
    message = await refused(api, container, work_dir, image_id)
    assert "qcow2" in message, message


async def test_configured_properties_are_injected_for_members_not_admins(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> None:
    imports = ImportSettings(
        plugins="inject_image_metadata", inject="team:ops, os_glance_x:no,region:north"
    )
    api, _ = await api_for(embedded_settings(tmp_path, database_url, imports=imports))
    image_id = await imported(api, b"data" * 100, "raw")

    image = await show(api, image_id)
    assert (image["status"], image["team"], image["region"]) == ("active", "ops", "north")
    assert "os_glance_x" not in image
    [injected] = [
        e
        for e in (await history_of(api, image_id))["events"]
        if e["change"].get("properties") == {"team": "ops", "region": "north"}
    ]
    assert injected["actor"]["user_id"] == PROJECT_A["X-User-Id"]

    by_admin = await created_image_id(api, ADMIN, disk_format="raw", container_format="bare")
    assert (await stage(api, by_admin, b"x" * 10, headers=ADMIN)).status == 204
    assert (await start_import(api, by_admin, headers=ADMIN)).status == 202
    await settled(api)
    shown = await (await api.get(f"/v2/images/{by_admin}", headers=ADMIN)).json()
    assert shown["status"] == "active"
    assert "team" not in shown


async def test_the_server_does_not_start_converting_without_qemu_img(tmp_path: Path) -> None:
    settings = {
        "CATALOG_DATA_DIR": str(tmp_path / "data"),
        "CATALOG_IMPORT_PLUGINS": "image_conversion",
        "PATH": str(tmp_path),  # a PATH without qemu-img
    }
    status, _, err = await run_catalog("serve", "--bind", "127.0.0.1:0", settings=settings)
    assert status == 1
    assert err.splitlines() == [
        "catalog: CATALOG_IMPORT_PLUGINS: image_conversion needs qemu-img on the PATH "
        "(Debian's qemu-utils package)"
    ]
    assert not (tmp_path / "data").exists(), "nothing is created before"
