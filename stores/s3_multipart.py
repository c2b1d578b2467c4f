"""One S3 multipart upload: parts sent in the background, one at a time, then completed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
from typing import Any

from botocore.exceptions import ClientError

from stores.errors import StoreError
from stores.s3_errors import error_code, s3_errors

MAX_PARTS = 10_000
"""S3 accepts at most this many parts in one upload."""


class MultipartUpload:
    """Uploads an object part by part, each part sent while the caller prepares the next.

    At most one part is in flight, so memory stays at about two parts whatever the object's size.
    Every part but the last must be at least 5 MiB (S3's rule; the caller sizes them). A part is
    handed over as the `BytesIO` it was written into, which the HTTP client sends without copying.
    After any failure the caller must `abort()`, which stops the part in flight and discards the
    parts already stored.
    """

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: asyncio.Task[dict[str, Any]] | None = None
        self._next_number = 1

    async def start(self) -> None:
        """Open the upload on the server."""
        with s3_errors(f"starting an upload of {self._key}"):
            answer = await self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
        self._upload_id = str(answer["UploadId"])

    async def send(self, part: io.BytesIO) -> None:
        """Start sending `part` (all of it; it is not to be touched afterwards).

        Returns once the previous part has arrived.
        """
        await self._settle()
        if self._next_number > MAX_PARTS:
            raise StoreError(f"{self._key} needs more than {MAX_PARTS} parts; raise the part size")
        number, self._next_number = self._next_number, self._next_number + 1
        self._in_flight = asyncio.create_task(self._upload_part(number, part))

    async def complete(self, last: io.BytesIO) -> None:
        """Send `last` (the remaining bytes, possibly none) and assemble the object."""
        if last.seek(0, io.SEEK_END) or self._next_number == 1:
            await self.send(last)
        await self._settle()
        with s3_errors(f"completing the upload of {self._key}"):
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )

    async def abort(self) -> None:
        """Stop the part in flight, then discard the upload and every part it stored."""
        if self._in_flight is not None:
            # A part still arriving after the abort would be stored, invisible and billed.
            self._in_flight.cancel()
            await asyncio.wait([self._in_flight])
            if not self._in_flight.cancelled():
                self._in_flight.exception()  # retrieved: the caller already has its own error
            self._in_flight = None
        if self._upload_id is None:
            return
        with s3_errors(f"aborting the upload of {self._key}"):
            try:
                await self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )
            except ClientError as e:
                if error_code(e) != "NoSuchUpload":
                    raise

    async def _settle(self) -> None:
        # The task stays recorded until it succeeded, so that `abort` can still stop it.
        if self._in_flight is not None:
            self._parts.append(await self._in_flight)
            self._in_flight = None

    async def _upload_part(self, number: int, part: io.BytesIO) -> dict[str, Any]:
        checksum = await asyncio.to_thread(content_md5, part)
        with s3_errors(f"uploading part {number} of {self._key}"):
            answer = await self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=part,
                ContentMD5=checksum,
            )
        return {"ETag": answer["ETag"], "PartNumber": number}


def content_md5(body: io.BytesIO) -> str:
    """The Content-MD5 header of `body`, rewound: S3 then rejects a body damaged on the way.

    Blocks: run it in a worker thread.
    """
    body.seek(0)
    with body.getbuffer() as data:
        return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
