"""S3 multipart uploads: writing one (parts sent in the background, one at a time, then
completed), and finding and discarding those left open on a key."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from botocore.exceptions import ClientError

from stores.errors import StoreError, StoreNotFound
from stores.s3_checksums import PART_CHECKSUM_ALGORITHM, crc32_of
from stores.s3_errors import error_code, s3_errors

MAX_PARTS = 10_000
"""S3 accepts at most this many parts in one upload."""


class MultipartUpload:
    """Uploads an object part by part, each part sent while the caller prepares the next.

    At most one part is in flight, so memory stays at about two parts whatever the object's size.
    Every part but the last must be at least 5 MiB (S3's rule; the caller sizes them). A part is
    handed over as the `BytesIO` it was written into, which the HTTP client sends without copying,
    with its CRC32 so that the server refuses a damaged part (`stores/s3_checksums.py`).
    After any failure the caller must `abort()`, which lets the part in flight end and discards
    the parts stored. Another task may `abort()` at any time too (the data's location was
    deleted): the writer's next `send` or `complete` then raises `StoreNotFound`, and no part
    of it reaches the server after the abort.
    """

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: asyncio.Task[dict[str, Any]] | None = None
        self._next_number = 1
        self._aborted = False

    async def start(self) -> None:
        """Open the upload on the server."""
        with s3_errors(f"starting an upload of {self._key}"):
            answer = await self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ChecksumAlgorithm=PART_CHECKSUM_ALGORITHM
            )
        self._upload_id = str(answer["UploadId"])

    async def send(self, part: io.BytesIO) -> None:
        """Start sending `part` (all of it; not to be touched until the next `send` returns).

        Returns once the previous part has arrived: its buffer may then be written again.
        """
        # Taken while the part before is still on its way, so that the connection does not
        # wait for it between the two.
        checksum = asyncio.create_task(asyncio.to_thread(crc32_of, part))
        try:
            await self._settle()
            self._check_open()
            if self._next_number > MAX_PARTS:
                raise StoreError(
                    f"{self._key} needs more than {MAX_PARTS} parts; raise the part size"
                )
        except BaseException:
            checksum.cancel()  # only the waiting: the thread ends on its own, touching nothing
            raise
        number, self._next_number = self._next_number, self._next_number + 1
        self._in_flight = asyncio.create_task(self._upload_part(number, part, checksum))

    async def complete(self, last: io.BytesIO) -> None:
        """Send `last` (the remaining bytes, possibly none) and assemble the object."""
        if last.seek(0, io.SEEK_END) or self._next_number == 1:
            await self.send(last)
        await self._settle()
        self._check_open()
        with s3_errors(f"completing the upload of {self._key}"):
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )

    async def abort(self) -> None:
        """Let the part in flight end, then discard the upload and every part it stored.

        Safe to call more than once, also while another task writes: each call discards the
        upload as far as it is known by then (an upload whose start was still on its way at
        the first call is discarded by the writer's own abort, once it fails).
        """
        self._aborted = True
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            # Waited for to its end, not cancelled: a part whose bytes were all sent is stored
            # by the server even if its request is cut before the answer, and one stored after
            # the abort stays invisible and billed (S3 says as much of parts in progress during
            # an abort; S3Proxy did it here). Botocore's timeouts bound the wait.
            await asyncio.wait([in_flight])
            if not in_flight.cancelled():
                in_flight.exception()  # retrieved: the caller already has its own error
        if self._upload_id is not None:
            await abort_upload(self._client, self._bucket, self._key, self._upload_id)
            self._upload_id = None

    async def _settle(self) -> None:
        in_flight = self._in_flight
        if in_flight is None:
            return
        # Waited for, not awaited: an upload aborted meanwhile by another task answers as
        # deleted (below), whatever became of its part.
        await asyncio.wait([in_flight])
        self._check_open()
        # The task stays recorded until it succeeded, so that `abort` can still stop it.
        self._parts.append(in_flight.result())
        self._in_flight = None

    def _check_open(self) -> None:
        if self._aborted:
            raise StoreNotFound(f"{self._key} was deleted while it was being written")

    async def _upload_part(
        self, number: int, part: io.BytesIO, crc32: asyncio.Future[str]
    ) -> dict[str, Any]:
        checksum = await crc32
        with s3_errors(f"uploading part {number} of {self._key}"):
            answer = await self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=part,
                ChecksumCRC32=checksum,
            )
        # S3 wants each part's checksum again at completion when the upload has an algorithm.
        return {"ETag": answer["ETag"], "PartNumber": number, "ChecksumCRC32": checksum}


async def open_uploads(client: Any, bucket: str, key: str) -> list[str]:
    """The ids of the multipart uploads open on `key`, whoever started them."""
    found: list[str] = []
    markers: dict[str, str] = {}
    with s3_errors(f"listing the uploads open on {key}"):
        while True:
            try:
                answer = await client.list_multipart_uploads(Bucket=bucket, Prefix=key, **markers)
            except ClientError as e:
                if error_code(e) == "NoSuchBucket":
                    return []
                raise
            # The prefix also matches longer keys: those are other objects.
            found += [u["UploadId"] for u in answer.get("Uploads", []) if u["Key"] == key]
            if not answer.get("IsTruncated"):
                return found
            markers = {
                "KeyMarker": answer["NextKeyMarker"],
                "UploadIdMarker": answer["NextUploadIdMarker"],
            }


async def abort_upload(client: Any, bucket: str, key: str, upload_id: str) -> None:
    """Discard the upload `upload_id` of `key` and its parts; one already gone is no error."""
    with s3_errors(f"aborting the upload of {key}"):
        try:
            await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as e:
            if error_code(e) != "NoSuchUpload":
                raise
