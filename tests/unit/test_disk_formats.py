"""Format inspection on crafted bytes: detection, virtual sizes, hostile images, the rules."""

from __future__ import annotations

import struct
import uuid

import pytest

from catalog.disk_formats import DiskFormatRejected, FormatInspector, Inspection, accept

MiB = 1024 * 1024


def inspect(data: bytes, chunk: int = MiB) -> Inspection:
    inspector = FormatInspector()
    for offset in range(0, len(data), chunk):
        inspector.feed(data[offset : offset + chunk])
    return inspector.finish()


def qcow2(
    version: int = 3, size: int = 10 * MiB, backing: bool = False, incompatible: int = 0
) -> bytes:
    header = bytearray(4096)
    struct.pack_into(">4sIQIIQ", header, 0, b"QFI\xfb", version, 0, 0, 16, size)
    if backing:
        struct.pack_into(">QI", header, 8, 1024, 9)
        header[1024:1033] = b"/etc/host"
    if version == 3:
        struct.pack_into(">Q", header, 72, incompatible)
        struct.pack_into(">I", header, 100, 104)
    return bytes(header)


def vmdk_sparse(descriptor: str, capacity_sectors: int = 20480) -> bytes:
    header = bytearray(512)
    struct.pack_into("<4sIIQQQQ", header, 0, b"KDMV", 1, 3, capacity_sectors, 128, 1, 20)
    text = descriptor.encode().ljust(20 * 512, b"\0")
    return bytes(header) + text + b"\0" * 4096


def descriptor(
    create_type: str = "monolithicSparse", extent: str = 'RW 20480 SPARSE "d.vmdk"'
) -> str:
    return (
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        f'createType="{create_type}"\n\n# Extent description\n{extent}\n\n'
        '# The Disk Data Base\nddb.virtualHWVersion = "4"\nddb.geometry.cylinders = "20"\n'
    )


def vhd_footer(size: int, disk_type: int) -> bytes:
    footer = bytearray(512)
    footer[:8] = b"conectix"
    struct.pack_into(">QQ", footer, 40, size, size)
    struct.pack_into(">I", footer, 60, disk_type)
    return bytes(footer)


def vhdx(size: int) -> bytes:
    """vhdxfile, a region table at 192 KiB, the metadata region at 1 MiB with its size item."""
    data = bytearray(2 * MiB)
    data[:8] = b"vhdxfile"
    table = 192 * 1024
    data[table : table + 4] = b"regi"
    struct.pack_into("<I", data, table + 8, 1)
    metadata_id = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e").bytes_le
    struct.pack_into("<16sQII", data, table + 16, metadata_id, MiB, MiB, 1)
    data[MiB : MiB + 8] = b"metadata"
    struct.pack_into("<H", data, MiB + 10, 1)
    size_id = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8").bytes_le
    struct.pack_into("<16sII", data, MiB + 32, size_id, 64 * 1024, 8)
    struct.pack_into("<Q", data, MiB + 64 * 1024, size)
    return bytes(data)


def iso(blocks: int = 300) -> bytes:
    data = bytearray(40 * 1024)
    pvd = 16 * 2048
    data[pvd : pvd + 6] = b"\x01CD001"
    struct.pack_into("<I", data, pvd + 80, blocks)
    struct.pack_into("<H", data, pvd + 128, 2048)
    return bytes(data)


def gpt(start_lba: int = 1) -> bytes:
    data = bytearray(64 * 1024)
    data[446 + 4] = 0xEE
    struct.pack_into("<I", data, 446 + 8, start_lba)
    data[510:512] = b"\x55\xaa"
    data[512:520] = b"EFI PART"
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "found", "virtual_size"),
    [
        (b"\x00" * (3 * MiB), "raw", 3 * MiB),
        (qcow2(version=2), "qcow2", 10 * MiB),
        (qcow2(version=3), "qcow2", 10 * MiB),
        (vmdk_sparse(descriptor()), "vmdk", 20480 * 512),
        (vmdk_sparse(descriptor("streamOptimized")), "vmdk", 20480 * 512),
        (vhd_footer(7 * MiB, 3) + b"\0" * 4096, "vhd", 7 * MiB),
        (b"\0" * MiB + vhd_footer(MiB, 2), "vhd", MiB),
        (vhdx(5 * MiB), "vhdx", 5 * MiB),
        (iso(), "iso", 300 * 2048),
        (gpt(), "gpt", 64 * 1024),
    ],
)
def test_formats_are_found_with_their_virtual_size(
    data: bytes, found: str, virtual_size: int
) -> None:
    inspection = inspect(data)
    assert (inspection.format, inspection.virtual_size) == (found, virtual_size)
    assert inspection.safety_failures == ()
    assert accept(found, inspection) == virtual_size


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (qcow2(backing=True), "qcow2 image has a backing file"),
        (qcow2(incompatible=1 << 2), "qcow2 image has an external data file"),
        (qcow2(incompatible=1 << 9), "qcow2 image has unknown incompatible features"),
        (qcow2(version=4), "qcow2 version 4 is not supported"),
        (vmdk_sparse(descriptor("monolithicFlat")), "createType 'monolithicFlat' is not allowed"),
        (vmdk_sparse(descriptor("twoGbMaxExtentFlat")), "is not allowed"),
        (vmdk_sparse(descriptor("vmfs")), "is not allowed"),
        (
            vmdk_sparse(descriptor(extent='RW 100 FLAT "/etc/passwd" 0')),
            "VMDK extent names a path: '/etc/passwd'",
        ),
        (vmdk_sparse(descriptor() + "rm -rf /\n"), "unexpected line"),
        (vmdk_sparse(descriptor(extent="")), "VMDK descriptor has no extents"),
        (descriptor("monolithicFlat", 'RW 2048 FLAT "disk-flat.vmdk" 0').encode(), "not allowed"),
        (vhd_footer(MiB, 4) + b"\0" * 1024, "differencing disk refers to a parent"),
        (gpt(start_lba=63), "does not start at LBA 1"),
    ],
)
def test_hostile_images_are_refused_whatever_they_claim(data: bytes, reason: str) -> None:
    inspection = inspect(data)
    assert any(reason in failure for failure in inspection.safety_failures), inspection
    for claimed in (inspection.format, "raw"):
        with pytest.raises(DiskFormatRejected) as refused:
            accept(claimed, inspection)
        assert refused.value.status == 415
        assert refused.value.detail.startswith("Image failed safety checks")


def test_data_that_is_not_its_claimed_format_is_refused_with_glances_message() -> None:
    with pytest.raises(DiskFormatRejected) as refused:
        accept("qcow2", inspect(b"\x01" * MiB))
    assert refused.value.detail == "Image disk_format qcow2 does not match stream data raw"
    assert refused.value.message.startswith("The request media type application/octet-stream")


def test_raw_takes_any_safe_data_and_its_size_as_virtual_size() -> None:
    assert accept("raw", inspect(qcow2())) == 4096
    assert accept("raw", inspect(gpt())) == 64 * 1024


def test_formats_that_cannot_be_inspected_take_raw_data() -> None:
    for claimed in ("ami", "aki", "ari", "ploop"):
        assert accept(claimed, inspect(b"kernel" * 1000)) is None
    with pytest.raises(DiskFormatRejected):
        accept("ami", inspect(qcow2()))


def test_a_hybrid_iso_is_an_iso() -> None:
    hybrid = bytearray(iso())
    hybrid[:1024] = gpt()[:1024]
    assert inspect(bytes(hybrid)).format == "iso"


def test_two_formats_at_once_are_refused() -> None:
    both = bytearray(qcow2()) + b"\0" * MiB
    both[-512:] = vhd_footer(MiB, 2)
    assert "several formats" in inspect(bytes(both)).safety_failures[0]


@pytest.mark.parametrize("data", [qcow2(backing=True), vmdk_sparse(descriptor()), vhdx(3 * MiB)])
def test_chunk_boundaries_do_not_change_the_result(data: bytes) -> None:
    tiny = 1 if len(data) <= 64 * 1024 else 4093  # byte by byte where that stays quick
    assert inspect(data, chunk=tiny) == inspect(data, chunk=7919) == inspect(data, len(data))


def test_memory_stays_bounded_whatever_the_size() -> None:
    inspector = FormatInspector()
    block = b"\xab" * (4 * MiB)
    for _ in range(16):  # 64 MiB
        inspector.feed(block)
    assert inspector.buffered_bytes <= 64 * 1024 + 512
    assert inspector.finish() == Inspection("raw", 64 * MiB, (), 64 * MiB)
