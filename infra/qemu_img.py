"""The `DiskConverter` that runs `qemu-img` (Debian's qemu-utils), as Glance's image_conversion.

The bytes are written to a private folder, asked about with `qemu-img info -f <claimed>` (in a
process whose memory and CPU time are limited, as Glance limits it: a crafted header must not
exhaust the host), refused if qemu-img disagrees with the format claimed or finds something
that would make it read other files (a backing file, an external data file, a VMDK whose
extents are not in the file itself), then converted with `qemu-img convert`, the output asked
about again and hashed. The folder goes when the converted disk is no longer held, whichever
way that ends, so no byte is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.errors import ConversionRefused, ServiceUnavailable
from stores.hashing import HASH_ALGO, StreamHasher
from stores.streaming import READ_CHUNK_SIZE

INFO_MEMORY_LIMIT = 1 << 30
"""Bytes of address space `qemu-img info` may use (Glance's limit)."""
INFO_CPU_SECONDS = 2
"""Seconds of CPU time `qemu-img info` may use (Glance's limit)."""
QEMU_FORMATS = {"vhd": "vpc"}
"""Disk formats qemu-img knows by another name."""
VMDK_ALLOWED_TYPES = frozenset({"streamOptimized", "monolithicSparse"})
"""VMDK create-types whose data is inside the file (Glance's default `vmdk_allowed_types`)."""


@dataclass(frozen=True)
class ConvertedFile:
    """A converted disk, in a file of the converter's folder."""

    path: Path
    disk_format: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    virtual_size: int

    def read(self) -> AsyncIterator[bytes]:
        return _read(self.path)


class QemuImgConverter:
    def __init__(self, executable: str, work_dir: Path | None = None) -> None:
        self._qemu_img = executable
        self._work_dir = work_dir

    @classmethod
    def found(cls, work_dir: Path | None = None) -> QemuImgConverter | None:
        """A converter running the `qemu-img` on the PATH; None if there is none."""
        executable = shutil.which("qemu-img")
        return None if executable is None else cls(executable, work_dir)

    @contextlib.asynccontextmanager
    async def convert(
        self, data: AsyncIterator[bytes], source_format: str, target_format: str
    ) -> AsyncIterator[ConvertedFile]:
        with tempfile.TemporaryDirectory(prefix="catalog-convert-", dir=self._work_dir) as work:
            source = Path(work) / f"source.{source_format}"
            await _write(source, data)
            virtual_size = await self._checked(source, source_format)
            target = source
            if source_format != target_format:
                target = Path(work) / f"converted.{target_format}"
                await self._run(
                    "convert", "-f", _named(source_format), "-O", target_format, str(source),
                    str(target),
                )  # fmt: skip
                source.unlink()  # not needed anymore: the folder holds one disk at a time
                await self._checked(target, target_format)
            yield await _hashed(target, target_format, virtual_size)

    async def _checked(self, path: Path, disk_format: str) -> int:
        """`path`'s virtual size, once qemu-img agrees it is a safe `disk_format` disk."""
        disk_format = _named(disk_format)
        info = json.loads(
            await self._run("info", "-f", disk_format, "--output=json", str(path), limited=True)
        )
        if info.get("format") != disk_format:
            raise ConversionRefused("Image metadata disagrees about format")
        if "backing-filename" in info:
            raise ConversionRefused("QCOW images with backing files are not allowed")
        specific: dict[str, Any] = info.get("format-specific", {}).get("data", {})
        if specific.get("data-file") is not None:
            raise ConversionRefused("QCOW images with data-file set are not allowed")
        if disk_format == "vmdk" and specific.get("create-type") not in VMDK_ALLOWED_TYPES:
            raise ConversionRefused("Invalid VMDK create-type specified")
        return int(info.get("virtual-size", 0))

    async def _run(self, *args: str, limited: bool = False) -> str:
        try:
            process = await asyncio.create_subprocess_exec(
                self._qemu_img,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=_limits if limited else None,
            )
        except OSError as e:
            raise ServiceUnavailable("The image converter (qemu-img) cannot be run.") from e
        try:
            out, err = await process.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        if process.returncode != 0 or err:
            # qemu-img's own words say what it refused (a wrong format, a truncated header).
            raise ConversionRefused(err.decode(errors="replace").strip() or "qemu-img failed")
        return out.decode()


def _named(disk_format: str) -> str:
    """A disk format as qemu-img names it."""
    return QEMU_FORMATS.get(disk_format, disk_format)


def _limits() -> None:
    """Run in the child before qemu-img starts: Glance's limits on `qemu-img info`."""
    resource.setrlimit(resource.RLIMIT_AS, (INFO_MEMORY_LIMIT, INFO_MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (INFO_CPU_SECONDS, INFO_CPU_SECONDS))


async def _write(path: Path, data: AsyncIterator[bytes]) -> None:
    with path.open("wb") as file:
        async with contextlib.aclosing(data) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                await asyncio.to_thread(file.write, chunk)


async def _hashed(path: Path, disk_format: str, virtual_size: int) -> ConvertedFile:
    hasher = StreamHasher()
    async for chunk in _read(path):
        await hasher.update(chunk)
    digests = await hasher.digests()
    return ConvertedFile(
        path,
        disk_format,
        digests.size,
        digests.md5,
        HASH_ALGO,
        digests.sha512,
        virtual_size,
    )


async def _read(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, READ_CHUNK_SIZE):
            yield chunk
