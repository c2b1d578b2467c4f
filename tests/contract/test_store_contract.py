"""The ImageStore contract, run against every driver: on a folder, and on the real S3 server."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import random
import tempfile
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from stores.base import ImageStore, StoredData
from stores.errors import InvalidLocation, SizeLimitExceeded, StoreNotFound, StoreUnavailable
from stores.filesystem import FilesystemStore
from stores.registry import driver_for_location, driver_named
from stores.s3 import S3Store
from stores.streaming import BLOCK_SIZE
from tests.s3_admin import S3Admin

MiB = 1024 * 1024
# An odd chunk size, so that chunks never line up with the stores' blocks or parts.
CHUNK = 100_003
LARGE = 40 * MiB  # over the S3 multipart threshold: several parts, the last one short
FIRST_PART = 20 * MiB  # the first part S3's default sizes send: the first block over 16 MiB


@functools.cache
def data(size: int, seed: int = 1) -> bytes:
    """Deterministic, incompressible test data (cached: the large sample is used often)."""
    return random.Random(seed).randbytes(size)


async def stream(payload: bytes, chunk: int = CHUNK) -> AsyncIterator[bytes]:
    for start in range(0, len(payload), chunk):
        yield payload[start : start + chunk]


async def read_all(store: ImageStore, location: str, **kwargs: Any) -> bytes:
    return b"".join([chunk async for chunk in store.get(location, **kwargs)])


class Boom(Exception):
    """An error of the incoming stream (a client gone away, say)."""


async def failing_stream(payload: bytes, error: BaseException) -> AsyncIterator[bytes]:
    async for chunk in stream(payload):
        yield chunk
    raise error


class HeldBack:
    """A stream of `total` bytes that waits after the `first` ones until `go()`; it counts the
    bytes taken from it."""

    def __init__(self, first: int, total: int) -> None:
        self.first = first
        self.total = total
        self.taken = 0
        self.holding = asyncio.Event()
        """Set once the first bytes are taken and the reader asks for more."""
        self._gate = asyncio.Event()

    def go(self) -> None:
        self._gate.set()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.taken < self.total:
            if self.taken >= self.first:
                self.holding.set()
                await self._gate.wait()
            self.taken += MiB
            yield data(MiB)


class StoreContract:
    """What every driver must do. Subclasses provide `store` and may check more in the hooks."""

    @pytest.fixture
    def store(self) -> ImageStore:
        raise NotImplementedError

    @pytest.fixture
    def key(self) -> str:
        return str(uuid.uuid4())

    async def assert_nothing_stored(self, store: ImageStore, key: str) -> None:
        """Nothing readable under `key`; drivers look deeper for leftovers."""
        location = store.location_for(key)
        with pytest.raises(StoreNotFound):
            await store.size(location)
        with pytest.raises(StoreNotFound):
            await read_all(store, location)

    async def leave_an_add_cut_short(self, store: ImageStore, key: str) -> None:
        """Leave under `key` what an `add` leaves when its process is killed midway."""
        raise NotImplementedError

    async def wait_until_written(self, store: ImageStore, key: str, stream: HeldBack) -> None:
        """Return once the `add` of `stream` to `key` has written some bytes where they stay.

        By default once the add asks for more than the first bytes: it wrote the earlier ones
        before it asked. Drivers whose writes are still on their way then wait longer.
        """
        await stream.holding.wait()

    def foreign_locations(self, store: ImageStore) -> list[str]:
        """Locations this store must refuse; drivers add their own."""
        return [
            "",
            "not a url",
            "http://example.com/image",
            f"{store.scheme}:/",
            store.location_for("key") + "?x=1",
            store.location_for("key") + "#frag",
        ]

    def memory_bound(self) -> int:
        """The most memory one upload may use, whatever the object's size."""
        return 24 * MiB

    async def assert_stored(
        self, store: ImageStore, key: str, stored: StoredData, payload: bytes
    ) -> None:
        assert stored.location == store.location_for(key)
        assert stored.size == len(payload)
        assert stored.checksum == hashlib.md5(payload).hexdigest()
        assert stored.os_hash_algo == "sha512"
        assert stored.os_hash_value == hashlib.sha512(payload).hexdigest()
        assert await store.size(stored.location) == len(payload)
        assert await read_all(store, stored.location) == payload

    async def test_round_trip_keeps_bytes_size_and_hashes(
        self, store: ImageStore, key: str
    ) -> None:
        payload = data(3 * MiB + 12345)
        stored = await store.add(key, stream(payload))
        await self.assert_stored(store, key, stored, payload)

    async def test_digests_asked_for_are_taken_as_the_bytes_are_stored(
        self, store: ImageStore, key: str
    ) -> None:
        payload = data(2 * MiB + 7)
        stored = await store.add(key, stream(payload), also_digest=["sha256", "sha512"])
        await self.assert_stored(store, key, stored, payload)
        assert stored.digests == {
            "sha256": hashlib.sha256(payload).hexdigest(),
            "sha512": hashlib.sha512(payload).hexdigest(),
        }

    async def test_an_empty_object_is_stored(self, store: ImageStore, key: str) -> None:
        stored = await store.add(key, stream(b""))
        await self.assert_stored(store, key, stored, b"")

    async def test_a_large_object_round_trips(self, store: ImageStore, key: str) -> None:
        payload = data(LARGE)
        stored = await store.add(key, stream(payload, chunk=256 * 1024 + 1))
        await self.assert_stored(store, key, stored, payload)

    async def test_get_streams_chunks_of_at_most_a_mib(self, store: ImageStore, key: str) -> None:
        payload = data(3 * MiB + 1)
        stored = await store.add(key, stream(payload))
        sizes = [len(chunk) async for chunk in store.get(stored.location)]
        assert sum(sizes) == len(payload)
        assert len(sizes) >= 4
        assert max(sizes) <= MiB

    async def test_a_read_given_up_midway_releases_what_it_held(
        self, store: ImageStore, key: str
    ) -> None:
        stored = await store.add(key, stream(data(3 * MiB)))
        # More abandoned reads than an HTTP connection pool holds: a leak would hang here.
        async with asyncio.timeout(60):
            for _ in range(25):
                reader = store.get(stored.location)
                assert len(await anext(reader)) > 0
                await reader.aclose()
        assert await read_all(store, stored.location) == data(3 * MiB)

    @pytest.mark.parametrize(
        ("offset", "length"),
        [
            (0, None),
            (0, 1),
            (10, 100),
            (MiB - 10, 2 * MiB),  # across chunk boundaries
            (3 * MiB - 5, None),  # the tail
            (3 * MiB - 5, 100),  # more asked for than there is
            (3 * MiB, None),  # at the end
            (3 * MiB + 10, 5),  # past the end
            (7, 0),
        ],
    )
    async def test_get_reads_a_byte_range(
        self, store: ImageStore, key: str, offset: int, length: int | None
    ) -> None:
        payload = data(3 * MiB)
        stored = await store.add(key, stream(payload))
        end = None if length is None else offset + length
        got = await read_all(store, stored.location, offset=offset, length=length)
        assert got == payload[offset:end]

    async def test_a_negative_range_is_refused(self, store: ImageStore, key: str) -> None:
        stored = await store.add(key, stream(b"abc"))
        with pytest.raises(ValueError, match="offset"):
            await read_all(store, stored.location, offset=-1)
        with pytest.raises(ValueError, match="length"):
            await read_all(store, stored.location, length=-1)

    async def test_missing_data_is_not_found(self, store: ImageStore, key: str) -> None:
        await self.assert_nothing_stored(store, key)
        with pytest.raises(StoreNotFound):
            await read_all(store, store.location_for(key), offset=5, length=0)

    async def test_delete_removes_the_data_and_is_idempotent(
        self, store: ImageStore, key: str
    ) -> None:
        stored = await store.add(key, stream(b"some bytes"))
        await store.delete(stored.location)
        await self.assert_nothing_stored(store, key)
        await store.delete(stored.location)
        await store.delete(store.location_for(str(uuid.uuid4())))

    async def test_delete_removes_what_an_add_cut_short_left(
        self, store: ImageStore, key: str
    ) -> None:
        # A process killed mid-add cleans nothing up: deleting the location it recorded must.
        await self.leave_an_add_cut_short(store, key)
        await store.delete(store.location_for(key))
        await self.assert_nothing_stored(store, key)

    async def test_a_delete_while_an_add_writes_leaves_nothing(
        self, store: ImageStore, key: str
    ) -> None:
        stream = HeldBack(first=FIRST_PART, total=LARGE)
        adding = asyncio.create_task(store.add(key, aiter(stream)))
        await self.wait_until_written(store, key, stream)
        await store.delete(store.location_for(key))
        stream.go()
        with contextlib.suppress(StoreNotFound):  # the add may stop, or end with nothing
            await adding
        await self.assert_nothing_stored(store, key)

    async def test_add_overwrites_an_existing_key(self, store: ImageStore, key: str) -> None:
        await store.add(key, stream(data(2 * MiB, seed=1)))
        shorter = data(MiB, seed=2)
        stored = await store.add(key, stream(shorter))
        await self.assert_stored(store, key, stored, shorter)

    async def test_a_size_of_exactly_max_size_is_accepted(
        self, store: ImageStore, key: str
    ) -> None:
        payload = data(MiB + 1)
        stored = await store.add(key, stream(payload), max_size=len(payload))
        await self.assert_stored(store, key, stored, payload)

    @pytest.mark.parametrize(("size", "limit"), [(300_000, 250_000), (LARGE, 30 * MiB)])
    async def test_passing_max_size_stops_at_once_and_leaves_nothing(
        self, store: ImageStore, key: str, size: int, limit: int
    ) -> None:
        consumed = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal consumed
            async for chunk in stream(data(size)):
                consumed += len(chunk)
                yield chunk

        with pytest.raises(SizeLimitExceeded):
            await store.add(key, counted(), max_size=limit)
        assert consumed < limit + CHUNK
        await self.assert_nothing_stored(store, key)

    @pytest.mark.parametrize("size", [1000, 20 * MiB])
    @pytest.mark.parametrize("error", [Boom("client gone"), ConnectionResetError("reset")])
    async def test_an_error_of_the_stream_propagates_unchanged_and_leaves_nothing(
        self, store: ImageStore, key: str, size: int, error: Exception
    ) -> None:
        with pytest.raises(type(error)) as raised:
            await store.add(key, failing_stream(data(size), error))
        assert raised.value is error
        await self.assert_nothing_stored(store, key)

    @pytest.mark.parametrize("size", [1000, 20 * MiB])
    async def test_cancellation_mid_stream_stays_a_cancellation_and_leaves_nothing(
        self, store: ImageStore, key: str, size: int
    ) -> None:
        sent_enough = asyncio.Event()

        async def stalls() -> AsyncIterator[bytes]:
            async for chunk in stream(data(size)):
                yield chunk
            sent_enough.set()
            await asyncio.Event().wait()  # the client stops sending
            yield b"never"

        upload = asyncio.create_task(store.add(key, stalls()))
        await sent_enough.wait()
        await asyncio.sleep(0.05)  # let the store write (or send) what it has
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload
        await self.assert_nothing_stored(store, key)

    async def test_a_failed_overwrite_leaves_nothing(self, store: ImageStore, key: str) -> None:
        await store.add(key, stream(b"old data"))
        with pytest.raises(Boom):
            await store.add(key, failing_stream(b"new", Boom()))
        await self.assert_nothing_stored(store, key)

    async def test_concurrent_adds_do_not_mix(self, store: ImageStore) -> None:
        payloads = {str(uuid.uuid4()): data(2 * MiB + n, seed=n) for n in range(4)}
        stored = await asyncio.gather(
            *(store.add(key, stream(payload)) for key, payload in payloads.items())
        )
        for (key, payload), result in zip(payloads.items(), stored, strict=True):
            await self.assert_stored(store, key, result, payload)

    async def test_memory_stays_bounded_whatever_the_size(
        self, store: ImageStore, key: str
    ) -> None:
        # Generated on the fly, so the only copies of the data are the store's.
        block = data(MiB)
        count = 128
        expected = hashlib.sha512()

        async def generated() -> AsyncIterator[bytes]:
            for n in range(count):
                chunk = n.to_bytes(8, "big") + block[8:]
                expected.update(chunk)
                yield chunk

        tracemalloc.start()
        try:
            stored = await store.add(key, generated())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert stored.size == count * MiB
        assert stored.os_hash_value == expected.hexdigest()
        assert peak < self.memory_bound(), f"peak {peak / MiB:.1f} MiB"

    @pytest.mark.parametrize(
        "bad_key", ["", ".", "..", "../x", "a/b", "/abs", "a\\b", ".hidden", "a\x00b", "k" * 300]
    )
    async def test_an_invalid_key_is_refused(self, store: ImageStore, bad_key: str) -> None:
        with pytest.raises(InvalidLocation):
            store.location_for(bad_key)
        with pytest.raises(InvalidLocation):
            await store.add(bad_key, stream(b"data"))

    async def test_a_foreign_location_is_refused(self, store: ImageStore, key: str) -> None:
        await store.add(key, stream(b"data"))
        for location in self.foreign_locations(store):
            with pytest.raises(InvalidLocation):
                await store.size(location)
            with pytest.raises(InvalidLocation):
                await store.delete(location)
            with pytest.raises(InvalidLocation):
                await read_all(store, location)
            with pytest.raises(InvalidLocation):
                await store.check_location(location)
        assert await store.size(store.location_for(key)) == 4
        await store.check_location(store.location_for(key))

    def test_a_location_names_its_key(self, store: ImageStore, key: str) -> None:
        assert store.key_of(store.location_for(key)) == key
        for location in self.foreign_locations(store):
            with pytest.raises(InvalidLocation):
                store.key_of(location)

    async def test_the_registry_knows_the_driver(self, store: ImageStore, key: str) -> None:
        location = store.location_for(key)
        assert isinstance(store, driver_for_location(location))
        assert isinstance(store, driver_named(store.scheme))
        assert location.split(":", 1)[0] in store.schemes


SHARED_MEMORY = Path("/dev/shm")
"""A tmpfs, where O_DIRECT is refused."""


@pytest.fixture
def tmpfs_folder() -> Iterator[Path]:
    if not SHARED_MEMORY.is_dir():
        pytest.skip("no tmpfs at /dev/shm")
    with tempfile.TemporaryDirectory(dir=SHARED_MEMORY) as folder:
        yield Path(folder)


class TestFilesystemStore(StoreContract):
    @pytest.fixture(params=["direct", "page cache", "tmpfs"])
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> FilesystemStore:
        """Written around the page cache, through it, and on a filesystem that refuses the
        first (so written through it after all)."""
        if request.param == "tmpfs":
            return FilesystemStore(request.getfixturevalue("tmpfs_folder") / "images")
        return FilesystemStore(tmp_path / "images", direct_io=request.param == "direct")

    async def test_data_of_any_length_across_blocks_is_stored_whole(
        self, store: FilesystemStore
    ) -> None:
        """Whole blocks go directly to the disk where they may; the short last one cannot."""
        for size in (BLOCK_SIZE, 2 * BLOCK_SIZE + 4096, 2 * BLOCK_SIZE + 12345, 4095):
            payload = data(size, seed=size)
            stored = await store.add(f"k{size}", stream(payload, chunk=1_000_003))
            assert await read_all(store, stored.location) == payload
            assert stored.size == size
            assert stored.checksum == hashlib.md5(payload, usedforsecurity=False).hexdigest()

    async def test_new_files_are_opened_for_direct_writes_where_allowed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        opened: list[int] = []
        real_open = os.open

        def recording_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            opened.append(flags)
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", recording_open)
        await FilesystemStore(tmp_path / "direct").add("k", stream(data(MiB)))
        await FilesystemStore(tmp_path / "cached", direct_io=False).add("k", stream(data(MiB)))
        writes = [flags for flags in opened if flags & os.O_WRONLY]

        assert [bool(flags & os.O_DIRECT) for flags in writes] == [True, False]

    async def assert_nothing_stored(self, store: ImageStore, key: str) -> None:
        await super().assert_nothing_stored(store, key)
        assert isinstance(store, FilesystemStore)
        assert not store.root.exists() or list(store.root.iterdir()) == []

    async def leave_an_add_cut_short(self, store: ImageStore, key: str) -> None:
        assert isinstance(store, FilesystemStore)
        # Files are written in place: a killed add leaves the start of its file.
        store.root.mkdir(parents=True, exist_ok=True)
        (store.root / key).write_bytes(data(MiB))

    def foreign_locations(self, store: ImageStore) -> list[str]:
        assert isinstance(store, FilesystemStore)
        root = store.root
        return [
            *super().foreign_locations(store),
            "s3://bucket/key",
            "file://other-host" + str(root / "key"),
            "file:key",
            (root.parent / "key").as_uri(),
            (root / "sub" / "key").as_uri(),
            f"file://{root}/../key",
            f"file://{root}/..",
            f"file://{root}/%2E%2E",
            f"file://{root}/.hidden",
            root.as_uri(),
        ]

    def test_other_spellings_of_a_location_name_the_same_key(self, store: FilesystemStore) -> None:
        """Which is why locations are compared as the store spells them (`location_for`)."""
        path = str(store.root / "abc")
        for spelling in (f"file://localhost{path}", f"file://{path[:-1]}%63"):
            assert store.key_of(spelling) == "abc"
            assert store.location_for(store.key_of(spelling)) == store.location_for("abc")

    def test_the_location_is_the_absolute_file_url(self, tmp_path: Path) -> None:
        store = FilesystemStore(tmp_path / "x" / ".." / "images")
        assert store.location_for("abc") == f"file://{tmp_path}/images/abc"

    async def test_the_folder_is_created_on_first_add(self, tmp_path: Path) -> None:
        store = FilesystemStore(tmp_path / "a" / "b")
        stored = await store.add("k", stream(b"x"))
        assert (tmp_path / "a" / "b" / "k").read_bytes() == b"x"
        assert stored.location == (tmp_path / "a" / "b" / "k").as_uri()

    async def test_a_folder_that_cannot_be_written_is_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_bytes(b"")
        store = FilesystemStore(tmp_path / "file")
        with pytest.raises(StoreUnavailable):
            await store.add("k", stream(b"x"))
        with pytest.raises(StoreUnavailable):
            await store.size(store.location_for("k"))


# --- S3 (the local S3Proxy started by `infra/local/services up`) ---


@pytest.mark.s3
class TestS3Store(StoreContract):
    @pytest.fixture
    async def store(self, s3_admin: S3Admin) -> AsyncIterator[S3Store]:
        endpoint, access_key, secret_key, region = s3_admin.settings
        store = S3Store(
            endpoint_url=endpoint,
            access_key=access_key,
            secret_key=secret_key,
            bucket=s3_admin.bucket,
            region=region,
        )
        yield store
        await store.close()

    @pytest.fixture(autouse=True)
    def admin(self, s3_admin: S3Admin) -> S3Admin:
        self._admin = s3_admin  # for the hooks, which are not fixtures
        return s3_admin

    async def assert_nothing_stored(self, store: ImageStore, key: str) -> None:
        await super().assert_nothing_stored(store, key)
        # Not even an unfinished multipart upload holding parts out of sight.
        assert await asyncio.to_thread(self._admin.keys, key) == []
        assert await asyncio.to_thread(self._admin.uploads, key) == []

    async def wait_until_written(self, store: ImageStore, key: str, stream: HeldBack) -> None:
        # A part handed over is still on its way: it counts once the server lists it.
        await super().wait_until_written(store, key, stream)
        await asyncio.to_thread(self._admin.wait_for_a_part, key)

    async def leave_an_add_cut_short(self, store: ImageStore, key: str) -> None:
        # A multipart upload left open holds its parts out of sight (and billed) until aborted;
        # an add tried again and killed again leaves a second one.
        await asyncio.to_thread(self._admin.open_upload, key, parts=1)
        await asyncio.to_thread(self._admin.open_upload, key, parts=0)

    def foreign_locations(self, store: ImageStore) -> list[str]:
        assert isinstance(store, S3Store)
        bucket = store.bucket
        return [
            *super().foreign_locations(store),
            "file:///tmp/key",
            "s3://another-bucket/key",
            f"s3://user:secret@{bucket}/key",
            f"s3://{bucket}/a/b",
            f"s3://{bucket}/",
            f"s3://{bucket}",
            f"s3://{bucket}/../key",
        ]

    def memory_bound(self) -> int:
        # Two parts of up to 20 MiB (one filling, one in flight) and a few 4 MiB blocks; while
        # the filling part grows, tracemalloc counts its old and new buffer both.
        return 72 * MiB

    def test_the_location_has_no_credentials(self, store: S3Store) -> None:
        assert store.location_for("abc") == f"s3://{store.bucket}/abc"

    async def test_a_large_object_goes_up_in_parts(
        self, store: S3Store, admin: S3Admin, key: str
    ) -> None:
        stored = await store.add(key, stream(data(LARGE)))
        head = await asyncio.to_thread(admin.client.head_object, Bucket=admin.bucket, Key=key)
        assert head["ETag"].strip('"').endswith("-3")  # 16 + 16 + 8 MiB
        assert head["ContentLength"] == stored.size

    async def test_delete_leaves_the_uploads_of_other_keys_alone(
        self, store: S3Store, admin: S3Admin, key: str
    ) -> None:
        longer = f"{key}-other"  # listed with `key` as a prefix, but another object
        upload_id = await asyncio.to_thread(admin.open_upload, longer, parts=0)
        await asyncio.to_thread(admin.open_upload, key, parts=0)
        await store.delete(store.location_for(key))
        assert await asyncio.to_thread(admin.uploads, key) == [(longer, upload_id)]
        await store.delete(store.location_for(longer))
        assert await asyncio.to_thread(admin.uploads, key) == []

    async def test_a_delete_stops_an_add_writing_the_key_at_its_next_part(
        self, store: S3Store, key: str
    ) -> None:
        stream = HeldBack(first=FIRST_PART, total=LARGE * 3)
        adding = asyncio.create_task(store.add(key, aiter(stream)))
        await self.wait_until_written(store, key, stream)
        await store.delete(store.location_for(key))
        stream.go()
        with pytest.raises(StoreNotFound):
            await adding
        # Stopped when its next part was due, not after streaming the whole object (a part
        # sent after the abort would be kept out of sight by some servers).
        assert stream.taken < 3 * FIRST_PART
        await self.assert_nothing_stored(store, key)

    @pytest.mark.parametrize("create_bucket", [True, False])
    async def test_an_unreachable_server_is_unavailable(
        self, create_bucket: bool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retries with backoff: fail fast
        store = S3Store("http://127.0.0.1:9", "a", "b", "bucket", create_bucket=create_bucket)
        try:
            with pytest.raises(StoreUnavailable):
                await store.size(store.location_for("k"))
            with pytest.raises(StoreUnavailable):
                await store.add("k", stream(b"x"))
        finally:
            await store.close()

    async def test_bad_credentials_make_the_store_unavailable(self, s3_admin: S3Admin) -> None:
        endpoint, access_key, _, region = s3_admin.settings
        store = S3Store(endpoint, access_key, "wrong secret", s3_admin.bucket, region=region)
        try:
            with pytest.raises(StoreUnavailable):
                await store.size(store.location_for("k"))
        finally:
            await store.close()

    async def test_a_missing_bucket_is_created_on_first_use(self, s3_admin: S3Admin) -> None:
        endpoint, access_key, secret_key, region = s3_admin.settings
        bucket = f"store-contract-{uuid.uuid4().hex[:16]}"
        store = S3Store(endpoint, access_key, secret_key, bucket, region=region)
        try:
            stored = await store.add("k", stream(b"x"))
            assert await read_all(store, stored.location) == b"x"
            await store.delete(stored.location)
        finally:
            await store.close()
            await asyncio.to_thread(s3_admin.client.delete_bucket, Bucket=bucket)
