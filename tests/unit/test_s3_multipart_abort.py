"""An abort lets the part in flight end before it discards the upload: a part whose bytes were
all sent is stored by the server even if its request is cut, and one stored after the abort
would stay unlisted and billed (S3 warns of it; S3Proxy did it to the tests' buckets)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from stores.errors import StoreNotFound
from stores.s3_multipart import MultipartUpload

BOUND = 60.0
"""How long a test waits at most for what must end."""


class ServerSide:
    """The calls an S3 server gets, in order; a part's answer waits for `part_may_end`."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.part_arrived = asyncio.Event()
        self.part_may_end = asyncio.Event()

    async def create_multipart_upload(self, **_: Any) -> dict[str, str]:
        return {"UploadId": "upload-1"}

    async def upload_part(self, PartNumber: int, **_: Any) -> dict[str, str]:  # noqa: N803
        self.part_arrived.set()
        try:
            await self.part_may_end.wait()
        except asyncio.CancelledError:
            self.calls.append(f"part {PartNumber} cut")
            raise
        self.calls.append(f"part {PartNumber} stored")
        return {"ETag": f'"{PartNumber}"'}

    async def abort_multipart_upload(self, **_: Any) -> None:
        self.calls.append("upload aborted")


async def a_part_on_its_way() -> tuple[ServerSide, MultipartUpload]:
    server = ServerSide()
    upload = MultipartUpload(server, "bucket", "key")
    await upload.start()
    await upload.send(io.BytesIO(b"a part"))
    await asyncio.wait_for(server.part_arrived.wait(), BOUND)
    return server, upload


async def test_an_abort_waits_for_the_part_in_flight_then_discards_the_upload() -> None:
    server, upload = await a_part_on_its_way()

    aborting = asyncio.create_task(upload.abort())
    for _ in range(10):
        await asyncio.sleep(0)
    assert server.calls == []  # neither cut nor aborted while the part is on its way
    server.part_may_end.set()
    await asyncio.wait_for(aborting, BOUND)

    assert server.calls == ["part 1 stored", "upload aborted"]


async def test_the_writer_learns_its_upload_was_aborted_meanwhile() -> None:
    server, upload = await a_part_on_its_way()

    aborting = asyncio.create_task(upload.abort())  # another task: the location was deleted
    server.part_may_end.set()
    with pytest.raises(StoreNotFound):
        await asyncio.wait_for(upload.complete(io.BytesIO()), BOUND)
    await asyncio.wait_for(aborting, BOUND)
    assert server.calls == ["part 1 stored", "upload aborted"]
