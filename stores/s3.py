"""The S3 store: one object per key in a single bucket (AWS S3, Ceph RGW, S3Proxy, MinIO)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError

from stores.base import Chunk, StoredData, check_key
from stores.errors import InvalidLocation, StoreError
from stores.hashing import StreamHasher
from stores.s3_checksums import content_md5
from stores.s3_errors import error_code, http_status, s3_errors
from stores.s3_multipart import MultipartUpload, abort_upload, open_uploads
from stores.streaming import BLOCK_SIZE, READ_CHUNK_SIZE, MiB, check_range, regroup

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * MiB
"""S3's smallest allowed part (all parts but the last)."""


class S3Store:
    """Image data as objects `<key>` in one bucket, at locations `s3://<bucket>/<key>`.

    Objects up to `multipart_threshold` bytes go up in one PutObject; larger ones as a multipart
    upload of `part_size` parts, so memory stays at about two parts whatever the size (and an
    object can have up to 10,000 parts). Locations never carry credentials or the endpoint: the
    store's configuration supplies them. One client is created on first use and reused until
    `close()`; with `create_bucket` the bucket is created then if it does not exist.

    A multipart upload left open holds its parts out of sight, billed, until it is aborted; a
    process killed mid-upload leaves one. Deleting a location therefore also aborts every
    upload open on its key, found with ListMultipartUploads: the key is all it takes, and it
    is known before the upload starts (upload ids are not recorded anywhere). The store's own
    adds writing that key are stopped first, so none of their parts arrives after the abort.
    """

    scheme = "s3"
    schemes: tuple[str, ...] = ("s3",)

    def __init__(
        self,
        endpoint_url: str | None,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str = "us-east-1",
        multipart_threshold: int = 16 * MiB,
        part_size: int = 16 * MiB,
        create_bucket: bool = True,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        if multipart_threshold < 0:
            raise ValueError("multipart_threshold must not be negative")
        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.region = region
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.create_bucket = create_bucket
        # Empty credentials mean "none given": botocore then finds them itself (IAM role, env).
        self._access_key = access_key or None
        self._secret_key = secret_key or None
        self._client: Any = None
        self._client_context = contextlib.AsyncExitStack()
        self._connecting = asyncio.Lock()
        self._cleanups: set[asyncio.Task[None]] = set()
        self._writing: dict[str, set[MultipartUpload]] = {}
        """This store's multipart uploads in progress, by key."""

    def owns(self, location: str) -> bool:
        try:
            self.key_of(location)
        except InvalidLocation:
            return False
        return True

    def location_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{check_key(key)}"

    async def add(
        self,
        key: str,
        chunks: AsyncIterable[Chunk],
        *,
        max_size: int | None = None,
        also_digest: Sequence[str] = (),
    ) -> StoredData:
        location = self.location_for(key)
        client = await self._connected()
        hasher = StreamHasher(also_digest)
        # Written into, not built from bytes: the HTTP client then sends it without a copy. Two
        # buffers in turn, one filling while the other is sent: memory touched once per upload,
        # not once per part (fresh pages cost more than the copy into them).
        part, sent = io.BytesIO(), io.BytesIO()
        upload: MultipartUpload | None = None
        try:
            async with contextlib.aclosing(
                regroup(chunks, BLOCK_SIZE, max_size=max_size)
            ) as blocks:
                async for block in blocks:
                    await hasher.update(block)
                    part.write(block)
                    if upload is None and part.tell() > self.multipart_threshold:
                        upload = MultipartUpload(client, self.bucket, key)
                        self._writing.setdefault(key, set()).add(upload)
                        await upload.start()
                    # Parts end on block boundaries, so they are part_size or up to a block more.
                    if upload is not None and part.tell() >= self.part_size:
                        part.truncate()  # what a longer part left in this buffer is not this one's
                        await upload.send(part)
                        # Returned once the part before had arrived: its buffer is free again.
                        part, sent = sent, part
                        part.seek(0)
            part.truncate()
            if upload is None:
                # The whole object is one body: the image's own MD5 is its Content-MD5.
                digests = await hasher.digests()
                part.seek(0)
                with s3_errors(f"writing {location}"):
                    await client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=part,
                        ContentMD5=content_md5(digests.md5),
                    )
            else:
                await upload.complete(part)
                digests = await hasher.digests()
        except BaseException:
            # Shielded so that a second cancellation cannot cut the cleanup short.
            cleanup = asyncio.create_task(self._discard(client, key))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)
            await asyncio.shield(cleanup)
            raise
        finally:
            if upload is not None:
                self._forget(key, upload)
        return digests.stored_at(location)

    async def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        key = self.key_of(location)
        check_range(offset, length)
        if length == 0:
            await self.size(location)  # nothing to read, but missing data is still an error
            return
        client = await self._connected()
        ranged = {}
        if offset or length is not None:
            end = "" if length is None else offset + length - 1
            ranged["Range"] = f"bytes={offset}-{end}"
        with s3_errors(f"reading {location}"):
            try:
                answer = await client.get_object(Bucket=self.bucket, Key=key, **ranged)
            except ClientError as e:
                if error_code(e) == "InvalidRange" or http_status(e) == 416:
                    return  # the object exists and the offset is at or past its end
                raise
        body = answer["Body"]
        try:
            async with contextlib.aclosing(
                regroup(_read(body, location), READ_CHUNK_SIZE)
            ) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            # Back to the pool if fully read, else the connection is closed: never left dangling.
            body.release()

    async def delete(self, location: str) -> None:
        """Remove the object and every multipart upload open on its key (see the class)."""
        await self._remove(await self._connected(), self.key_of(location))

    async def check_location(self, location: str) -> None:
        self.key_of(location)

    async def size(self, location: str) -> int:
        key = self.key_of(location)
        client = await self._connected()
        with s3_errors(f"reading the size of {location}"):
            answer = await client.head_object(Bucket=self.bucket, Key=key)
        return int(answer["ContentLength"])

    async def close(self) -> None:
        """Wait for pending cleanups of failed uploads, then close the client."""
        if self._cleanups:
            await asyncio.wait(self._cleanups)
        await self._client_context.aclose()
        self._client = None

    def key_of(self, location: str) -> str:
        """The key of a location in this store's bucket; else `InvalidLocation`."""
        parts = urlsplit(location)
        if (
            parts.scheme != self.scheme
            or parts.netloc != self.bucket
            or parts.query
            or parts.fragment
            or not parts.path.startswith("/")
        ):
            raise InvalidLocation(f"not a location in the S3 bucket {self.bucket}: {location!r}")
        try:
            return check_key(parts.path[1:])
        except InvalidLocation as e:
            raise InvalidLocation(f"invalid object name in location {location!r}") from e

    async def _connected(self) -> Any:
        """The client, created (and the bucket made sure of) on first use."""
        if self._client is not None:
            return self._client
        async with self._connecting:
            if self._client is None:
                async with contextlib.AsyncExitStack() as context:
                    client = await context.enter_async_context(self._new_client())
                    if self.create_bucket:
                        await self._ensure_bucket(client)
                    self._client_context = context.pop_all()
                    self._client = client
        return self._client

    def _new_client(self) -> Any:
        session = aioboto3.Session(
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            region_name=self.region,
        )
        return session.client("s3", endpoint_url=self.endpoint_url, config=client_config())

    async def _ensure_bucket(self, client: Any) -> None:
        with s3_errors(f"checking the bucket {self.bucket}"):
            try:
                await client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as e:
                if http_status(e) != 404:
                    raise
            where = {}
            if self.region != "us-east-1":
                where["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            try:
                await client.create_bucket(Bucket=self.bucket, **where)
            except ClientError as e:
                if error_code(e) != "BucketAlreadyOwnedByYou":
                    raise

    async def _remove(self, client: Any, key: str) -> None:
        """Remove the object `key` and every multipart upload open on it, this store's first."""
        for upload in list(self._writing.get(key, ())):
            await upload.abort()
        for upload_id in await open_uploads(client, self.bucket, key):
            await abort_upload(client, self.bucket, key, upload_id)
        # Last: an upload completed before its abort has become this object.
        with s3_errors(f"deleting {key}"):
            try:
                await client.delete_object(Bucket=self.bucket, Key=key)
            except ClientError as e:
                if error_code(e) not in ("NoSuchKey", "NoSuchBucket"):
                    raise

    def _forget(self, key: str, upload: MultipartUpload) -> None:
        uploads = self._writing.get(key, set())
        uploads.discard(upload)
        if not uploads:
            self._writing.pop(key, None)

    async def _discard(self, client: Any, key: str) -> None:
        """Remove whatever a failed `add` may have stored; never raises.

        Everything on the key goes, the failed add's own upload included, and also an upload
        whose start was cut short before its id came back: a PutObject or a completion cut
        short may have landed too.
        """
        try:
            await self._remove(client, key)
        except StoreError:
            # The caller's error matters more; it also deletes the location when it recovers.
            log.warning("could not remove partial image data %s", key, exc_info=True)


def client_config() -> Config:
    """How the store's S3 client talks to the server (the benchmarks' plain client too)."""
    return Config(
        # The test server and many private S3s are not DNS-addressable per bucket. Payloads
        # go unsigned, over http and https alike (left to itself botocore SHA-256s every body
        # over http, and over https every body without a Content-MD5, on the event loop): the
        # checksum sent with every body already lets the server refuse damaged data
        # (`stores/s3_checksums.py`), and TLS protects it on the way.
        s3={"addressing_style": "path", "payload_signing_enabled": False},
        # Three attempts unless AWS_MAX_ATTEMPTS says otherwise.
        retries={"mode": "standard"},
        # No checksums of botocore's own beside the store's: its default trailing CRC32s are
        # computed on the event loop and are not understood by every S3 implementation.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


async def _read(body: Any, location: str) -> AsyncGenerator[bytes, None]:
    """The chunks of a response body as they arrive, read errors translated."""
    while True:
        with s3_errors(f"reading {location}"):
            chunk: bytes = await body.read(READ_CHUNK_SIZE)
        if not chunk:
            return
        yield chunk
