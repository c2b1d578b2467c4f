"""Format inspection on real images made by qemu-img, the converter consumers run on them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from catalog.disk_formats import DiskFormatRejected, FormatInspector, Inspection, accept
from tests.disk_images import MiB, gpt, iso

SIZE = "5M"


KINDS = [
    # qemu-img's format, its creation options, the disk_format the image is uploaded as
    pytest.param("raw", "", "raw", id="raw"),
    pytest.param("qcow2", "compat=0.10", "qcow2", id="qcow2-v2"),
    pytest.param("qcow2", "compat=1.1", "qcow2", id="qcow2-v3"),
    pytest.param("vmdk", "subformat=monolithicSparse", "vmdk", id="vmdk-monolithicSparse"),
    pytest.param("vmdk", "subformat=streamOptimized", "vmdk", id="vmdk-streamOptimized"),
    pytest.param("vpc", "subformat=dynamic", "vhd", id="vhd-dynamic"),
    pytest.param("vpc", "subformat=fixed", "vhd", id="vhd-fixed"),
    pytest.param("vhdx", "", "vhdx", id="vhdx"),
    pytest.param("vdi", "", "vdi", id="vdi"),
]


def made(qemu_img: str, folder: Path, name: str, *args: str) -> Path:
    path = folder / name
    subprocess.run([qemu_img, "create", "-q", *args, str(path), SIZE], check=True)
    return path


def with_options(options: str) -> list[str]:
    return ["-o", options] if options else []


def inspected_file(path: Path, chunk: int = 1 << 20) -> Inspection:
    inspector = FormatInspector()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(chunk), b""):
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


@pytest.fixture(scope="module")
def disk_with_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5 MiB raw disk with data at its start, across its first MiB boundary and at its end,
    so that converted images have allocated clusters, tables and grains."""
    path = tmp_path_factory.mktemp("source") / "disk.raw"
    data = bytearray(5 * MiB)
    pattern = bytes(range(1, 256)) * 257
    for at in (0, MiB - 4096, 5 * MiB - len(pattern)):
        data[at : at + len(pattern)] = pattern
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("qemu_format", "options", "disk_format"), KINDS)
def test_real_images_are_accepted_with_qemus_virtual_size(
    qemu_img: str, tmp_path: Path, qemu_format: str, options: str, disk_format: str
) -> None:
    path = made(qemu_img, tmp_path, "disk.img", "-f", qemu_format, *with_options(options))
    inspection = inspected_file(path)
    assert inspection.format == disk_format
    assert inspection.safety_failures == ()
    assert accept(disk_format, inspection) == qemu_virtual_size(qemu_img, path, qemu_format)
    if disk_format != "raw":
        other = "qcow2" if disk_format != "qcow2" else "vmdk"
        with pytest.raises(DiskFormatRejected) as refused:
            accept(other, inspection)
        assert refused.value.detail == (
            f"Image disk_format {other} does not match stream data {disk_format}"
        )
        assert accept("raw", inspection) == path.stat().st_size


@pytest.mark.parametrize(("qemu_format", "options", "disk_format"), KINDS)
def test_converted_images_give_the_same_result_in_any_chunk_size(
    qemu_img: str,
    disk_with_data: Path,
    tmp_path: Path,
    qemu_format: str,
    options: str,
    disk_format: str,
) -> None:
    path = tmp_path / "converted.img"
    convert = [qemu_img, "convert", "-q", "-f", "raw", "-O", qemu_format, *with_options(options)]
    subprocess.run([*convert, str(disk_with_data), str(path)], check=True)
    results = {inspected_file(path, chunk) for chunk in (4093, 65536, 4 * MiB, 1 << 30)}
    assert results == {
        Inspection(
            disk_format,
            qemu_virtual_size(qemu_img, path, qemu_format),
            (),
            path.stat().st_size,
        )
    }


def test_a_fixed_vhd_of_a_partitioned_disk_is_accepted(qemu_img: str, tmp_path: Path) -> None:
    """The usual cloud VHD: qemu-img wraps a GPT disk in a footer; the GPT at the start is
    the guest's disk, not a second format."""
    disk = tmp_path / "disk.raw"
    disk.write_bytes(gpt() + bytes(3 * MiB))
    image = tmp_path / "disk.vhd"
    fixed_vhd = [qemu_img, "convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed"]
    subprocess.run([*fixed_vhd, str(disk), str(image)], check=True)
    inspection = inspected_file(image)
    assert (inspection.format, inspection.safety_failures) == ("vhd", ())
    assert accept("vhd", inspection) == qemu_virtual_size(qemu_img, image, "vpc")


def test_an_iso_is_accepted_with_the_size_qemu_sees(qemu_img: str, tmp_path: Path) -> None:
    """No ISO maker is installed where the tests run: the volume is crafted, and qemu-img
    (which reads an ISO as raw) says how big a disk it makes."""
    path = tmp_path / "cd.iso"
    path.write_bytes(iso(blocks=512, boot_record_first=True))
    inspection = inspected_file(path, chunk=4093)
    assert inspection.format == "iso"
    assert accept("iso", inspection) == qemu_virtual_size(qemu_img, path, "raw")
    with pytest.raises(DiskFormatRejected, match="does not match stream data iso"):
        accept("qcow2", inspection)


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
