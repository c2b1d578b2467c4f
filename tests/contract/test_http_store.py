"""The read-only http store against a real HTTP server on loopback, and its address checks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import pytest

from stores.errors import (
    InvalidLocation,
    StoreError,
    StoreNotFound,
    StoreReadOnly,
    StoreUnavailable,
)
from stores.http import HttpStore
from stores.registry import driver_for_location
from stores.streaming import READ_CHUNK_SIZE
from tests.http_origin import DATA, Origin, serving

LOOPBACK = ["127.0.0.0/8"]


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    file = tmp_path / "image"
    file.write_bytes(DATA)
    return Origin(file)


@pytest.fixture
async def base(origin: Origin) -> AsyncIterator[str]:
    async with serving(origin) as url:
        yield url


@pytest.fixture
async def store() -> AsyncIterator[HttpStore]:
    allowed = HttpStore(allowed_networks=LOOPBACK, max_redirects=3)
    yield allowed
    await allowed.close()


async def read(
    store: HttpStore, location: str, *, offset: int = 0, length: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in store.get(location, offset=offset, length=length)])


@pytest.mark.parametrize("path", ["/image", "/plain", "/compressing", "/get-only"])
async def test_reads_whole_and_ranges_with_or_without_server_range_support(
    store: HttpStore, base: str, path: str
) -> None:
    location = base + path
    chunks = [chunk async for chunk in store.get(location)]
    assert b"".join(chunks) == DATA
    assert max(map(len, chunks)) <= READ_CHUNK_SIZE
    assert await read(store, location, offset=1000) == DATA[1000:]
    assert await read(store, location, offset=1000, length=70_000) == DATA[1000:71_000]
    assert await read(store, location, offset=len(DATA)) == b""
    assert await store.size(location) == len(DATA)


async def test_a_range_answered_from_an_earlier_byte_is_trimmed(
    store: HttpStore, base: str
) -> None:
    assert await read(store, base + "/from-start", offset=5, length=10) == DATA[5:15]


async def test_data_of_unknown_size_reads_but_has_no_size(store: HttpStore, base: str) -> None:
    assert await read(store, base + "/unsized") == DATA
    with pytest.raises(StoreError, match="does not tell the data's size"):
        await store.size(base + "/unsized")


async def test_redirects_are_followed_and_bounded(
    store: HttpStore, base: str, origin: Origin
) -> None:
    assert await read(store, base + "/moved") == DATA
    assert origin.requests == ["GET /moved", "GET /image"]
    with pytest.raises(InvalidLocation, match="redirects more than 3 times"):
        await read(store, base + "/loop")
    assert origin.requests[2:] == ["GET /loop"] * 4  # the first request and 3 redirects


async def test_credentials_go_to_the_urls_origin_only(
    store: HttpStore, base: str, origin: Origin
) -> None:
    """A token given for one image service is not handed to another a redirect names."""
    token = {"X-Auth-Token": "the-callers-token"}

    async def read_with_token(location: str) -> bytes:
        return b"".join([chunk async for chunk in store.get(location, credentials=token)])

    assert await read_with_token(base + "/moved") == DATA  # the same origin: kept
    origin.redirect_to = base.replace("127.0.0.1", "localhost") + "/image"
    assert await read_with_token(base + "/moved") == DATA  # another origin: dropped
    assert origin.tokens == ["the-callers-token"] * 3 + [None]


async def test_errors_of_the_server_become_store_errors(store: HttpStore, base: str) -> None:
    with pytest.raises(StoreNotFound) as missing:
        await read(store, base.replace("//", "//user:secret@") + "/missing")
    assert "secret" not in str(missing.value)
    with pytest.raises(StoreUnavailable):
        await read(store, base + "/broken")
    with pytest.raises(InvalidLocation, match="refused it: 403"):
        await store.size(base + "/forbidden")
    with pytest.raises(StoreUnavailable, match="answered 429"):
        await read(store, base + "/busy")
    with pytest.raises(InvalidLocation, match="answered 204, not data"):
        await read(store, base + "/empty")


async def test_nothing_can_be_written_and_deleting_sends_nothing(
    store: HttpStore, base: str, origin: Origin
) -> None:
    consumed = []

    async def chunks() -> AsyncGenerator[bytes, None]:
        while True:
            consumed.append(1)
            yield b"never"

    endless = chunks()
    with pytest.raises(StoreReadOnly):
        await store.add("key", endless)
    with pytest.raises(StopAsyncIteration):  # closed, not left for the garbage collector
        await anext(endless)
    with pytest.raises(StoreReadOnly):
        store.location_for("key")
    with pytest.raises(StoreReadOnly):
        store.key_of(base + "/image")
    await store.delete(base + "/image")
    assert consumed == []
    assert origin.requests == []


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/image",
        "http://localhost:{port}/image",
        "http://[::1]:{port}/image",
        "http://[::ffff:127.0.0.1]:{port}/image",
        "http://2130706433:{port}/image",
        "http://0x7f.1:{port}/image",
        "http://127.1:{port}/image",
        "http://0177.0.0.1:{port}/image",
        "http://0:{port}/image",
        "http://user:secret@127.0.0.1:{port}/image",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/image",
        "http://192.168.1.1/image",
        "http://0.0.0.0:{port}/image",
    ],
)
async def test_internal_addresses_are_refused_without_a_request(
    origin: Origin, base: str, location: str
) -> None:
    port = base.rsplit(":", 1)[1]
    guarded = HttpStore()
    try:
        with pytest.raises(InvalidLocation, match="address; not allowed") as read_refused:
            await read(guarded, location.format(port=port))
        with pytest.raises(InvalidLocation, match="address; not allowed") as check_refused:
            await guarded.check_location(location.format(port=port))
        with pytest.raises(InvalidLocation, match="address; not allowed"):
            await guarded.size(location.format(port=port))
    finally:
        await guarded.close()
    assert origin.requests == []
    assert "secret" not in str(read_refused.value) + str(check_refused.value)


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http:///x"])
async def test_other_schemes_are_not_locations_of_this_store(location: str) -> None:
    guarded = HttpStore()
    try:
        with pytest.raises(InvalidLocation):
            await read(guarded, location)
    finally:
        await guarded.close()


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.net/image"])
async def test_a_redirect_to_another_scheme_is_refused(
    store: HttpStore, base: str, origin: Origin, target: str
) -> None:
    origin.redirect_to = target
    with pytest.raises(InvalidLocation, match="not an http"):
        await read(store, base + "/moved")
    assert origin.requests == ["GET /moved"]


async def test_a_redirect_to_a_refused_address_is_refused(tmp_path: Path, base: str) -> None:
    # A server the store may reach (127.0.0.2) sends it on to one it may not (127.0.0.1).
    file = tmp_path / "other"
    file.write_bytes(DATA)
    relay = Origin(file)
    relay.redirect_to = base + "/image"
    only_relay = HttpStore(allowed_networks=["127.0.0.2/32"])
    try:
        async with serving(relay, "127.0.0.2") as relay_url:
            with pytest.raises(InvalidLocation, match="loopback address; not allowed"):
                await read(only_relay, relay_url + "/moved")
            assert relay.requests == ["GET /moved"]
    finally:
        await only_relay.close()


def test_http_and_https_locations_belong_to_the_http_driver() -> None:
    assert driver_for_location("https://example.net/image.qcow2") is HttpStore
    assert HttpStore().owns("http://example.net/x")
    assert not HttpStore().owns("s3://bucket/x")
