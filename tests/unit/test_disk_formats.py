"""Format inspection on crafted bytes: detection, virtual sizes, hostile images, the rules."""

from __future__ import annotations

import pytest

from catalog.disk_formats import DiskFormatRejected, FormatInspector, Inspection, accept
from tests.disk_images import (
    SECTOR,
    MiB,
    descriptor,
    gpt,
    iso,
    qcow2,
    qed,
    vhd_footer,
    vhdx,
    vmdk_header,
    vmdk_sparse,
    vmdk_stream,
)


def inspect(data: bytes, chunk: int = MiB) -> Inspection:
    inspector = FormatInspector()
    for offset in range(0, len(data), chunk):
        inspector.feed(data[offset : offset + chunk])
    return inspector.finish()


@pytest.mark.parametrize(
    ("data", "found", "virtual_size"),
    [
        (b"\x00" * (3 * MiB), "raw", 3 * MiB),
        (qcow2(version=2), "qcow2", 10 * MiB),
        (qcow2(version=3), "qcow2", 10 * MiB),
        (vmdk_sparse(descriptor()), "vmdk", 20480 * 512),
        (vmdk_sparse(descriptor("streamOptimized")), "vmdk", 20480 * 512),
        (vmdk_stream(descriptor("streamOptimized"), 4096), "vmdk", 4096 * 512),
        (vhd_footer(7 * MiB, 3) + b"\0" * 4096, "vhd", 7 * MiB),
        (b"\0" * MiB + vhd_footer(MiB, 2), "vhd", MiB),
        (vhdx(5 * MiB), "vhdx", 5 * MiB),
        (vhdx(6 * MiB, metadata_at=3 * MiB), "vhdx", 6 * MiB),
        (iso(blocks=20), "iso", 20 * 2048),
        (iso(blocks=24, boot_record_first=True), "iso", 24 * 2048),
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
        (qed(), "QED images are not accepted"),
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
        (vhd_footer(MiB, 4) + b"\0" * 1024, "VHD differencing disk refers to a parent"),
        (vhdx(MiB, has_parent=True), "VHDX differencing disk refers to a parent"),
        (gpt(start_lba=63), "does not start at LBA 1"),
        (gpt(start_chs=b"\x01\x01\x00"), "does not start at CHS 0/0/2"),
        (gpt(boot=0x7F), "MBR partition 1 has an invalid boot indicator"),
        (gpt(more=1), "GPT protective MBR defines other partitions"),
        (gpt()[:446] + bytes(16) + gpt()[462:], "no protective MBR partition first"),
    ],
)
def test_hostile_images_are_refused_whatever_they_claim(data: bytes, reason: str) -> None:
    assert_refused(data, reason)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(
            vmdk_sparse(descriptor() + 'parentFileNameHint="base.vmdk"\n'),
            "VMDK descriptor names a parent image",
            id="parent",
        ),
        pytest.param(
            vmdk_sparse(descriptor() + '# parentFileNameHint="base.vmdk"\n'),
            "VMDK descriptor names a parent image",
            id="parent-in-a-comment",
        ),
        pytest.param(
            vmdk_sparse(descriptor(extent='RW 100 FLAT "other-image" 0')),
            "VMDK extent of type 'FLAT' in a sparse VMDK",
            id="flat-extent-in-sparse",
        ),
        pytest.param(
            vmdk_sparse(descriptor() + 'createType="monolithicFlat"\n'),
            "VMDK descriptor gives createType more than once",
            id="two-create-types",
        ),
        pytest.param(
            vmdk_sparse(descriptor(), capacity_sectors=0),
            "VMDK sparse header has no capacity",
            id="zero-capacity-makes-a-descriptor-file",
        ),
        pytest.param(
            vmdk_sparse(descriptor(), descriptor_at=2),
            "VMDK has no embedded descriptor at sector 1",
            id="descriptor-elsewhere",
        ),
        pytest.param(
            vmdk_sparse(
                # One sector claimed, but the text (a hidden extent) runs on past it.
                ("#" * 500 + "\n").ljust(SECTOR, "#") + descriptor(),
                descriptor_sectors=1,
            ),
            "VMDK descriptor does not end within the sectors it claims",
            id="descriptor-overruns-its-sectors",
        ),
        pytest.param(
            vmdk_sparse(descriptor(), version=4),
            "VMDK version 4 is not supported",
            id="version",
        ),
        pytest.param(
            b'version=1\ncreateType="vmfs"\nRW 2048 VMFS "disk-flat.vmdk"\n',
            "VMDK descriptor without data of its own",
            id="text-descriptor-without-the-usual-comment",
        ),
        pytest.param(
            vmdk_stream(descriptor("streamOptimized"), footer=vmdk_header(descriptor_at=40)),
            "VMDK stream footer disagrees with its header",
            id="footer-moves-the-descriptor",
        ),
        pytest.param(
            vmdk_stream(descriptor("streamOptimized"), footer=vmdk_header(directory_at=2**64 - 1)),
            "VMDK stream footer defers to another footer",
            id="footer-defers-again",
        ),
        pytest.param(
            vmdk_stream(descriptor("streamOptimized"))[:-SECTOR],
            "VMDK stream footer is invalid",
            id="no-end-of-stream",
        ),
        pytest.param(
            vmdk_stream(descriptor("streamOptimized")) + b"\0",
            "VMDK stream does not end on a sector boundary",
            id="footer-off-the-sector",
        ),
    ],
)
def test_vmdks_that_would_open_other_files_or_hide_lines_are_refused(
    data: bytes, reason: str
) -> None:
    assert_refused(data, reason)


def assert_refused(data: bytes, reason: str) -> None:
    """`data` fails a safety check for `reason`, and is refused as what it is and as raw."""
    inspection = inspect(data)
    assert any(reason in failure for failure in inspection.safety_failures), inspection
    for claimed in (inspection.format, "raw"):
        with pytest.raises(DiskFormatRejected) as refused:
            accept(claimed, inspection)
        assert refused.value.status == 415
        assert refused.value.detail.startswith("Image failed safety checks")
        assert reason in refused.value.detail


def test_a_stream_vmdk_takes_its_virtual_size_from_its_footer() -> None:
    """Readers take the header from the footer, so its capacity is the disk's size."""
    data = vmdk_stream(descriptor("streamOptimized"), 4096, footer=vmdk_header(8192))
    assert inspect(data).virtual_size == 8192 * SECTOR


def test_data_that_is_not_its_claimed_format_is_refused_with_glances_message() -> None:
    with pytest.raises(DiskFormatRejected) as refused:
        accept("qcow2", inspect(b"\x01" * MiB))
    assert refused.value.detail == "Image disk_format qcow2 does not match stream data raw"
    assert refused.value.message.startswith("The request media type application/octet-stream")


def test_raw_takes_any_safe_data_and_its_size_as_virtual_size() -> None:
    assert accept("raw", inspect(qcow2())) == 4096
    assert accept("raw", inspect(gpt())) == 64 * 1024


def test_formats_that_cannot_be_inspected_take_raw_data_and_gpt_disks() -> None:
    for claimed in ("ami", "aki", "ari", "ploop"):
        assert accept(claimed, inspect(b"kernel" * 1000)) is None
        assert accept(claimed, inspect(gpt())) is None
        with pytest.raises(DiskFormatRejected) as refused:
            accept(claimed, inspect(qcow2()))
        assert (
            refused.value.detail == f"Image disk_format {claimed} does not match stream data qcow2"
        )


def test_a_protective_mbr_may_be_marked_bootable() -> None:
    """Some tools set the boot indicator so that old firmware boots the disk at all."""
    assert inspect(gpt(boot=0x80)).safety_failures == ()


def test_a_hybrid_iso_is_an_iso() -> None:
    """Bootable both as a CD and as a disk: a GPT in front of the ISO volume."""
    hybrid = bytearray(iso(blocks=40))
    hybrid[:1024] = gpt()[:1024]
    inspection = inspect(bytes(hybrid))
    assert (inspection.format, inspection.safety_failures) == ("iso", ())
    assert accept("iso", inspection) == 40 * 2048
    assert accept("raw", inspection) == len(hybrid)


def test_two_formats_at_once_are_refused() -> None:
    both = bytearray(qcow2()) + b"\0" * MiB
    both[-512:] = vhd_footer(MiB, 2)
    assert "several formats: qcow2, vhd" in inspect(bytes(both)).safety_failures[0]


def test_a_fixed_vhd_of_a_partitioned_disk_is_a_vhd() -> None:
    """The usual cloud VHD: a GPT disk with a footer. Its disk keeps a raw disk's checks."""
    disk = gpt() + bytes(MiB - 64 * 1024)
    inspection = inspect(disk + vhd_footer(MiB, 2))
    assert (inspection.format, inspection.safety_failures) == ("vhd", ())
    assert accept("vhd", inspection) == MiB
    assert accept("vhd", inspect(iso(blocks=40) + vhd_footer(40 * 2048, 2))) == 40 * 2048
    bad_mbr = gpt(more=1) + bytes(MiB - 64 * 1024)
    assert_refused(bad_mbr + vhd_footer(MiB, 2), "GPT protective MBR defines other partitions")


@pytest.mark.parametrize(
    "data",
    [
        qcow2(backing=True),
        vmdk_sparse(descriptor()),
        vmdk_stream(descriptor("streamOptimized")),
        vhd_footer(MiB, 2) + b"\0" * 4096 + vhd_footer(MiB, 2),
        vhdx(3 * MiB, metadata_at=256 * 1024),
        iso(),
        gpt(),
    ],
)
def test_one_byte_chunks_and_one_chunk_give_the_same_result(data: bytes) -> None:
    assert inspect(data, chunk=1) == inspect(data, chunk=4093) == inspect(data, len(data))


def test_chunks_that_end_just_before_or_after_a_table_give_the_same_result() -> None:
    data = vhdx(3 * MiB)
    results = {inspect(data, chunk) for chunk in (65535, 65536, 65537, 196607, 196609, 1 << 20)}
    assert results == {Inspection("vhdx", 3 * MiB, (), len(data))}


def test_a_large_raw_stream_keeps_only_its_head_and_tail() -> None:
    inspector = FormatInspector()
    block = b"\xab" * (4 * MiB)
    for _ in range(16):  # 64 MiB
        inspector.feed(block)
        assert inspector.buffered_bytes <= 64 * 1024 + 2048
    assert inspector.finish() == Inspection("raw", 64 * MiB, (), 64 * MiB)


def test_a_table_too_far_into_the_stream_is_not_waited_for() -> None:
    """A VHDX whose metadata is said to lie at 1 GiB: the stream passes it unkept, and the
    virtual size stays unknown instead of the inspector holding on for it."""
    far = 1024 * MiB
    head = bytearray(vhdx(MiB)[: 256 * 1024])
    head[192 * 1024 + 32 : 192 * 1024 + 40] = far.to_bytes(8, "little")
    inspector = FormatInspector()
    inspector.feed(bytes(head))
    zeros = bytes(4 * MiB)
    for _ in range(far // len(zeros) + 1):
        inspector.feed(zeros)
        assert inspector.buffered_bytes <= 64 * 1024 + 2048 + 64 * 1024
    found = inspector.finish()
    assert (found.format, found.virtual_size, found.safety_failures) == ("vhdx", None, ())
