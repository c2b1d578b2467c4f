"""Finding out what an image's bytes are while they stream in, without a second pass."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass

from catalog.disk_formats import gpt, iso, qcow2, qed, vdi, vhd, vhdx, vmdk
from catalog.disk_formats.capture import Captured
from catalog.disk_formats.finding import Finding
from catalog.disk_formats.settle import settle

FOUND_FORMATS = frozenset({"raw", "qcow2", "qed", "vmdk", "vhdx", "vhd", "vdi", "iso", "gpt"})
"""Every format an inspection can find; data claimed as any other can only be seen as raw."""

_DETECTORS: tuple[Callable[[Captured], Finding | None], ...] = (
    qcow2.detect,
    qed.detect,
    vmdk.detect,
    vhdx.detect,
    vhd.detect,
    vdi.detect,
    iso.detect,
    gpt.detect,
)
_LATER_REGIONS: tuple[Callable[[Captured], list[tuple[int, int]]], ...] = (vmdk.needs, vhdx.needs)


@dataclass(frozen=True)
class Inspection:
    """What the data is."""

    format: str
    """raw, qcow2, vmdk, vhd, vhdx, vdi, iso or gpt; or qed, which is always unsafe."""
    virtual_size: int | None
    """The disk's size as a guest sees it, when the format says (raw: the data's size)."""
    safety_failures: tuple[str, ...]
    """Why the data is unsafe to hand to a hypervisor or converter; empty if it is not."""
    size: int
    """Bytes seen."""


class FormatInspector:
    """Fed the upload's chunks in order; keeps only the byte ranges the format checks need.

    Cheap per chunk once the stream is past those ranges (a 2 KiB tail is all it copies),
    and its memory is bounded (`buffered_bytes`, at most `MAX_BUFFERED`) whatever the image's
    size or content.
    """

    def __init__(self) -> None:
        self._captured = Captured()

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the stream held for the checks."""
        return self._captured.buffered_bytes

    def feed(self, chunk: bytes | memoryview) -> None:
        """Show the inspector the next chunk of the stream."""
        if self._captured.feed(chunk):
            self._ask_for_later_regions()
        self._captured.done_with_chunk()

    def finish(self) -> Inspection:
        """What the stream was, once its last chunk has been fed."""
        captured = self._captured
        finding = settle([f for f in (detect(captured) for detect in _DETECTORS) if f])
        if finding is None:
            return Inspection("raw", captured.size, (), captured.size)
        return Inspection(
            finding.format, finding.virtual_size, finding.safety_failures, captured.size
        )

    def _ask_for_later_regions(self) -> None:
        # A region found in a table may point further on; asking again until nothing new is
        # asked lets a chain of tables complete within one large chunk.
        for _ in range(4):
            before = self._captured.buffered_bytes
            for needs in _LATER_REGIONS:
                for start, length in needs(self._captured):
                    self._captured.want(start, length)
            if self._captured.buffered_bytes == before:
                return


async def inspected(
    chunks: AsyncIterable[bytes | memoryview], inspector: FormatInspector
) -> AsyncIterator[bytes | memoryview]:
    """The chunks unchanged, each shown to `inspector` on its way."""
    async for chunk in chunks:
        inspector.feed(chunk)
        yield chunk
