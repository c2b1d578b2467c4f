"""Format inspection on real images made by qemu-img, the converter consumers run on them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from catalog.disk_formats import DiskFormatRejected, FormatInspector, Inspection, accept

SIZE = "5M"


@pytest.fixture(scope="module")
def qemu_img() -> str:
    found = shutil.which("qemu-img")
    assert found, "qemu-img is missing: install Debian's qemu-utils (infra/local/tools does)"
    return found


def made(qemu_img: str, folder: Path, name: str, *args: str) -> Path:
    path = folder / name
    subprocess.run([qemu_img, "create", "-q", *args, str(path), SIZE], check=True)
    return path


def inspected_file(path: Path) -> Inspection:
    inspector = FormatInspector()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            inspector.feed(block)
    return inspector.finish()


def qemu_info(qemu_img: str, path: Path, fmt: str) -> str:
    return subprocess.run(
        [qemu_img, "info", "-U", "-f", fmt, "--output=json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def qemu_virtual_size(qemu_img: str, path: Path, fmt: str) -> int:
    return int(json.loads(qemu_info(qemu_img, path, fmt))["virtual-size"])


@pytest.mark.parametrize(
    ("options", "qemu_format", "disk_format"),
    [
        (["-f", "raw"], "raw", "raw"),
        (["-f", "qcow2", "-o", "compat=0.10"], "qcow2", "qcow2"),
        (["-f", "qcow2", "-o", "compat=1.1"], "qcow2", "qcow2"),
        (["-f", "vmdk", "-o", "subformat=monolithicSparse"], "vmdk", "vmdk"),
        (["-f", "vmdk", "-o", "subformat=streamOptimized"], "vmdk", "vmdk"),
        (["-f", "vpc", "-o", "subformat=dynamic"], "vpc", "vhd"),
        (["-f", "vpc", "-o", "subformat=fixed"], "vpc", "vhd"),
        (["-f", "vhdx"], "vhdx", "vhdx"),
        (["-f", "vdi"], "vdi", "vdi"),
    ],
)
def test_real_images_are_accepted_with_qemus_virtual_size(
    qemu_img: str, tmp_path: Path, options: list[str], qemu_format: str, disk_format: str
) -> None:
    path = made(qemu_img, tmp_path, "disk.img", *options)
    inspection = inspected_file(path)
    assert inspection.format == disk_format
    assert accept(disk_format, inspection) == qemu_virtual_size(qemu_img, path, qemu_format)
    if disk_format != "raw":
        with pytest.raises(DiskFormatRejected, match="does not match stream data"):
            accept("qcow2" if disk_format != "qcow2" else "vmdk", inspection)


def test_a_qcow2_with_a_backing_file_is_refused(qemu_img: str, tmp_path: Path) -> None:
    base = made(qemu_img, tmp_path, "base.qcow2", "-f", "qcow2")
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(
        [qemu_img, "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(overlay)],
        check=True,
    )
    with pytest.raises(DiskFormatRejected, match="backing file"):
        accept("qcow2", inspected_file(overlay))


def test_a_qcow2_with_an_external_data_file_is_refused(qemu_img: str, tmp_path: Path) -> None:
    data_file = tmp_path / "host-file.raw"
    image = made(qemu_img, tmp_path, "ext.qcow2", "-f", "qcow2", "-o", f"data_file={data_file}")
    with pytest.raises(DiskFormatRejected, match="external data file"):
        accept("qcow2", inspected_file(image))


@pytest.mark.parametrize(
    "subformat", ["monolithicFlat", "twoGbMaxExtentFlat", "twoGbMaxExtentSparse"]
)
def test_a_vmdk_whose_data_lies_in_other_files_is_refused(
    qemu_img: str, tmp_path: Path, subformat: str
) -> None:
    descriptor = made(
        qemu_img, tmp_path, "split.vmdk", "-f", "vmdk", "-o", f"subformat={subformat}"
    )
    inspection = inspected_file(descriptor)
    assert inspection.format == "vmdk"
    for claimed in ("vmdk", "raw"):
        with pytest.raises(DiskFormatRejected, match=subformat):
            accept(claimed, inspection)


def test_a_vmdk_with_a_parent_is_refused(qemu_img: str, tmp_path: Path) -> None:
    """qemu-img names the parent without a path (`parentFileNameHint="base.vmdk"`): a reader
    would open that file beside the image."""
    made(qemu_img, tmp_path, "base.vmdk", "-f", "vmdk")
    child = tmp_path / "child.vmdk"
    subprocess.run(
        [qemu_img, "create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", str(child)],
        check=True,
        cwd=tmp_path,
    )
    assert json.loads(qemu_info(qemu_img, child, "vmdk"))["backing-filename"] == "base.vmdk"
    with pytest.raises(DiskFormatRejected, match="names a parent image"):
        accept("vmdk", inspected_file(child))
