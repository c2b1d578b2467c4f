"""The S3 store against the real S3 server: a body damaged after its checksum was taken is
refused by the server, and nothing of it is left behind."""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from stores import s3, s3_multipart
from stores.errors import StoreUnavailable
from stores.s3 import S3Store
from stores.s3_checksums import content_md5, crc32_of
from tests.s3_admin import S3Admin

MiB = 1024 * 1024
SMALL = 3 * MiB  # one PutObject
LARGE = 40 * MiB  # a multipart upload: 20 + 16 + 4 MiB, the last in the first part's buffer

pytestmark = pytest.mark.s3


async def stream(payload: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(payload), 100_003):
        yield payload[start : start + 100_003]


@pytest.fixture
async def store(s3_admin: S3Admin) -> AsyncIterator[S3Store]:
    endpoint, access_key, secret_key, region = s3_admin.settings
    store = S3Store(endpoint, access_key, secret_key, s3_admin.bucket, region=region)
    yield store
    await store.close()


@pytest.fixture
def key() -> str:
    return str(uuid.uuid4())


async def assert_nothing_stored(admin: S3Admin, key: str) -> None:
    assert await asyncio.to_thread(admin.keys, key) == []
    assert await asyncio.to_thread(admin.uploads, key) == []


async def test_a_part_damaged_after_its_checksum_is_refused(
    store: S3Store, s3_admin: S3Admin, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def checksum_then_damage(part: io.BytesIO) -> str:
        checksum = crc32_of(part)
        with part.getbuffer() as data:
            data[len(data) // 2] ^= 0x01  # one bit flipped on the way
        return checksum

    monkeypatch.setattr(s3_multipart, "crc32_of", checksum_then_damage)
    with pytest.raises(StoreUnavailable, match="BadDigest"):
        await store.add(key, stream(random.Random(1).randbytes(LARGE)))
    await assert_nothing_stored(s3_admin, key)


async def test_a_single_object_damaged_after_hashing_is_refused(
    store: S3Store, s3_admin: S3Admin, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Content-MD5 comes from the image's own md5: one of other bytes stands for a body
    # that changed after it was hashed.
    monkeypatch.setattr(s3, "content_md5", lambda _: content_md5(hashlib.md5(b"other").hexdigest()))
    with pytest.raises(StoreUnavailable, match="BadDigest"):
        await store.add(key, stream(random.Random(2).randbytes(SMALL)))
    await assert_nothing_stored(s3_admin, key)


async def test_every_part_carries_the_crc32_of_its_bytes(
    store: S3Store, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = random.Random(3).randbytes(LARGE)
    # Where each part sits in the payload, found by its first bytes: the checksums of two
    # parts are taken in threads at once and may end in either order.
    sent: dict[int, tuple[int, str]] = {}

    def recorded(part: io.BytesIO) -> str:
        checksum = crc32_of(part)
        with part.getbuffer() as data:
            sent[payload.find(bytes(data[:32]))] = (len(data), checksum)
        return checksum

    monkeypatch.setattr(s3_multipart, "crc32_of", recorded)
    stored = await store.add(key, stream(payload))
    assert stored.checksum == hashlib.md5(payload).hexdigest()
    assert len(sent) > 1
    start = 0
    for at, (size, checksum) in sorted(sent.items()):
        assert at == start  # the parts follow one another, with nothing left out
        assert checksum == crc32_of(io.BytesIO(payload[start : start + size]))
        start += size
    assert start == LARGE
