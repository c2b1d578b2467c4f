"""Disk images crafted byte by byte: the few header fields each format check reads, and the
hostile variations of them that no image tool would write."""

from __future__ import annotations

import struct
import uuid

MiB = 1024 * 1024
SECTOR = 512


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


VMDK_GD_AT_END = 0xFFFFFFFFFFFFFFFF


def qed(size: int = 10 * MiB) -> bytes:
    header = bytearray(4096)
    struct.pack_into("<4sIIIQQQQQ", header, 0, b"QED\0", 65536, 4, 1, 0, 0, 0, 4096, size)
    return bytes(header)


def vmdk_header(
    capacity_sectors: int = 20480,
    *,
    version: int = 1,
    descriptor_at: int = 1,
    descriptor_sectors: int = 20,
    directory_at: int = 21,
) -> bytes:
    header = bytearray(SECTOR)
    struct.pack_into(
        "<4sIIQQQQIQQ",
        header,
        0,
        *(b"KDMV", version, 3, capacity_sectors, 128, descriptor_at, descriptor_sectors),
        *(512, 0, directory_at),
    )
    return bytes(header)


def vmdk_sparse(descriptor: str, capacity_sectors: int = 20480, **header: int) -> bytes:
    """A sparse VMDK: its header, the descriptor at sector 1 padded to 20 sectors, a little data."""
    text = descriptor.encode().ljust(20 * SECTOR, b"\0")[: 20 * SECTOR]
    return vmdk_header(capacity_sectors, **header) + text + b"\0" * 4096


def vmdk_stream(
    descriptor: str, capacity_sectors: int = 20480, *, footer: bytes | None = None
) -> bytes:
    """A stream-optimized VMDK whose header defers to its footer: the footer marker, the
    footer (a header with the real grain directory) and the end-of-stream marker."""
    body = vmdk_sparse(descriptor, capacity_sectors, directory_at=VMDK_GD_AT_END)
    marker = struct.pack("<QII", 1, 0, 3).ljust(SECTOR, b"\0")
    footer = footer if footer is not None else vmdk_header(capacity_sectors, directory_at=30)
    return body + marker + footer + bytes(SECTOR)


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


def vhdx(size: int, metadata_at: int = MiB, *, has_parent: bool = False) -> bytes:
    """vhdxfile, a region table at 192 KiB, the metadata region with its table and two items:
    the file parameters and the virtual disk size."""
    data = bytearray(metadata_at + 128 * 1024)
    data[:8] = b"vhdxfile"
    table = 192 * 1024
    data[table : table + 4] = b"regi"
    struct.pack_into("<I", data, table + 8, 1)
    metadata_id = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e").bytes_le
    struct.pack_into("<16sQII", data, table + 16, metadata_id, metadata_at, MiB, 1)
    data[metadata_at : metadata_at + 8] = b"metadata"
    struct.pack_into("<H", data, metadata_at + 10, 2)
    parameters_id = uuid.UUID("caa16737-fa36-4d43-b3b6-33f0aa44e76b").bytes_le
    struct.pack_into("<16sII", data, metadata_at + 32, parameters_id, 64 * 1024, 8)
    struct.pack_into("<II", data, metadata_at + 64 * 1024, 32 * MiB, 2 if has_parent else 0)
    size_id = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8").bytes_le
    struct.pack_into("<16sII", data, metadata_at + 64, size_id, 64 * 1024 + 8, 8)
    struct.pack_into("<Q", data, metadata_at + 64 * 1024 + 8, size)
    return bytes(data)


def iso(blocks: int = 20, *, boot_record_first: bool = False) -> bytes:
    """An ISO 9660 volume of `blocks` sectors: the system area, the primary volume descriptor
    at sector 16 (or 17, after an El Torito boot record) and the set's terminator."""
    data = bytearray(blocks * 2048)
    pvd = (17 if boot_record_first else 16) * 2048
    data[pvd : pvd + 7] = b"\x01CD001\x01"
    struct.pack_into("<I", data, pvd + 80, blocks)
    struct.pack_into(">I", data, pvd + 84, blocks)
    struct.pack_into("<H", data, pvd + 128, 2048)
    struct.pack_into(">H", data, pvd + 130, 2048)
    if boot_record_first:
        data[16 * 2048 : 16 * 2048 + 30] = b"\x00CD001\x01EL TORITO SPECIFICATION"
    terminator = pvd + 2048
    data[terminator : terminator + 7] = b"\xffCD001\x01"
    return bytes(data)


def gpt(
    start_lba: int = 1, *, start_chs: bytes = b"\x00\x02\x00", boot: int = 0, more: int = 0
) -> bytes:
    """A GPT disk's first 64 KiB: the protective MBR (and `more` partitions of type 0x83 beside
    it, as a hybrid MBR has), then the GPT header at LBA 1."""
    data = bytearray(64 * 1024)
    struct.pack_into("<B3sB3sII", data, 446, boot, start_chs, 0xEE, b"\xff" * 3, start_lba, 127)
    for record in range(1, more + 1):
        struct.pack_into("<B3sB3sII", data, 446 + 16 * record, 0, b"\0\0\0", 0x83, b"", 34, 8)
    data[510:512] = b"\x55\xaa"
    data[512:520] = b"EFI PART"
    return bytes(data)
