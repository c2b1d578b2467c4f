"""Images that hold the same bytes: nobody attaches another image's data they may not download,
and no way of removing bytes removes those another image still holds.

Every test runs on a folder and on the real S3 server, each on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from catalog.errors import NotFound
from catalog.events import EventMetadata
from catalog.image import Image
from infra.bootstrap import Container
from infra.data_stores import TranslatingStore
from infra.recovery import recover_once
from infra.settings import DeletionSettings, StoresSettings
from tests.conftest import s3_store_options
from tests.integration.conftest import (
    ADMIN,
    JSON,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
    settled,
    uploaded_image_id,
)
from tests.integration.delayed_delete import scrub

P1 = {"X-Project-Id": "p1", "X-User-Id": "ursula", "X-Roles": "member,reader"}
# The compute service acting for a user of p3, as in the report: it may name data in the stores.
P3 = {"X-Project-Id": "p3", "X-User-Id": "nova", "X-Roles": "member,service"}
ADMIN_SERVICE = {**ADMIN, "X-Roles": "admin,member,reader,service"}
FORBIDDEN = "http store must be enabled to use location API by normal user."
SECRET = b"p1's private bytes" * 1000
OCTETS = {"Content-Type": "application/octet-stream"}


@dataclass
class Catalog:
    """An API with two stores of one kind, `images` (the default) and `spare`."""

    api: ApiClient
    container: Container
    kind: str

    def store(self, name: str = "images") -> TranslatingStore:
        return self.container.stores.named(name)

    def location_of(self, image_id: str | uuid.UUID, store: str = "images") -> str:
        """Where the store writes this image's bytes."""
        return self.store(store).location_for(str(image_id))

    def spellings(self, location: str) -> list[str]:
        """Ways of writing the same location (a file URL has a few)."""
        if self.kind != "file":
            return [location]
        path = location.removeprefix("file://")
        return [location, f"file://localhost{path}", f"file://{path[:-1]}%{ord(path[-1]):02X}"]

    async def bytes_at(self, location: str) -> bytes | None:
        _, store = self.container.stores.for_location(location)
        try:
            return b"".join([chunk async for chunk in store.get(location)])
        except NotFound:
            return None

    async def put_bytes(self, image_id: str, data: bytes, store: str = "images") -> None:
        """Bytes under an image's key, written straight into the store."""

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        await self.store(store).add(image_id, chunks())

    def attach(self, image_id: str, url: str, headers: dict[str, str]) -> Awaitable[ClientResponse]:
        return self.api.post(
            f"/v2/images/{image_id}/locations", json={"url": url}, headers={**headers, **JSON}
        )

    async def holder_of(self, url: str, headers: dict[str, str] = ADMIN_SERVICE) -> str:
        """A new image (of `headers`' project) attached to `url`."""
        image_id = await created_image_id(self.api, headers)
        response = await self.attach(image_id, url, headers)
        assert response.status == 202, await response.text()
        return image_id

    async def download(self, image_id: str, headers: dict[str, str]) -> tuple[int, bytes]:
        response = await self.api.get(f"/v2/images/{image_id}/file", headers=headers)
        return response.status, await response.read()

    async def delete(self, image_id: str, headers: dict[str, str]) -> None:
        response = await self.api.delete(f"/v2/images/{image_id}", headers=headers)
        assert response.status == 204, await response.text()


def _store_options(kind: str, tmp_path: Path, name: str) -> dict[str, object]:
    return {"dir": tmp_path / name} if kind == "file" else s3_store_options(name)


CatalogFactory = Callable[..., Awaitable[Catalog]]


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.s3)])
def catalog_with(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> CatalogFactory:
    """Catalogs on `database_url` whose stores are folders, or buckets of the S3 server."""
    kind: str = request.param

    async def make(**deletion: Any) -> Catalog:
        names = ("images", "spare")
        stores = StoresSettings(
            stores=",".join(f"{name}:{kind}" for name in names),
            options={name: _store_options(kind, tmp_path, name) for name in names},
        )
        settings = embedded_settings(
            tmp_path, database_url, stores=stores, deletion=DeletionSettings(**deletion)
        )
        api, container = await api_for(settings)
        return Catalog(api, container, kind)

    return make


@pytest.fixture
async def catalog(catalog_with: CatalogFactory) -> Catalog:
    return await catalog_with()


# -- attaching: only data the caller may download ----------------------------------------------


async def assert_attach_refused(c: Catalog, image_id: str, url: str) -> None:
    before = await c.bytes_at(url)
    await refused_without_change(
        c.container, lambda: c.attach(image_id, url, P3), 403, FORBIDDEN, anywhere=True
    )
    assert await c.bytes_at(url) == before


async def test_the_reported_attack_is_refused_and_changes_nothing(catalog: Catalog) -> None:
    """p3 may not point its image at p1's private data, however the location is written;
    deleting p3's image then leaves p1's data alone."""
    c = catalog
    private = await uploaded_image_id(c.api, SECRET, P1, visibility="private")
    own = await created_image_id(c.api, P3)
    for url in c.spellings(c.location_of(private)):
        await assert_attach_refused(c, own, url)

    assert await c.download(own, P3) == (204, b"")  # still queued, without data
    await c.delete(own, P3)
    assert await c.download(private, P1) == (200, SECRET)


async def test_where_an_image_will_be_written_cannot_be_attached(catalog: Catalog) -> None:
    """Stores write an image's bytes under its id: its location, in any store, is its own
    before its upload, and for an image id no image has yet (clients may choose ids)."""
    c = catalog
    queued = await created_image_id(c.api, P1, visibility="private")
    own = await created_image_id(c.api, P3)
    unborn = uuid.uuid4()
    for url in [
        c.location_of(queued),
        c.location_of(queued, "spare"),
        c.location_of(str(queued).upper()),
        c.location_of(unborn),
    ]:
        await assert_attach_refused(c, own, url)

    sent = await c.api.put(
        f"/v2/images/{queued}/file", data=io.BytesIO(SECRET), headers={**P1, **OCTETS}
    )
    assert sent.status == 204
    await created_image_id(c.api, P1, id=str(unborn))
    assert await c.download(own, P3) == (204, b"")


async def test_staged_bytes_waiting_for_their_import_cannot_be_attached(catalog: Catalog) -> None:
    c = catalog
    staged = await created_image_id(c.api, P1, visibility="private")
    put = await c.api.put(
        f"/v2/images/{staged}/stage", data=io.BytesIO(SECRET), headers={**P1, **OCTETS}
    )
    assert put.status == 204
    own = await created_image_id(c.api, P3)
    await assert_attach_refused(c, own, c.location_of(staged))

    body = {"method": {"name": "glance-direct"}}
    imported = await c.api.post(f"/v2/images/{staged}/import", json=body, headers=P1)
    assert imported.status == 202
    await settled(c.api)
    assert await c.download(staged, P1) == (200, SECRET)


async def test_data_of_an_image_the_caller_may_download_can_be_attached(
    catalog: Catalog,
) -> None:
    """Shared with p3: p3 may download it, so p3 may attach it, in any spelling (recorded as
    the store writes it). Deactivated, it may not be downloaded, so not attached either;
    admins may attach anything."""
    c = catalog
    shared = await uploaded_image_id(c.api, SECRET, P1, visibility="shared")
    members = f"/v2/images/{shared}/members"
    assert (await c.api.post(members, json={"member": "p3"}, headers=P1)).status == 200
    location = c.location_of(shared)
    for url in c.spellings(location):
        own = await c.holder_of(url, P3)
        assert await c.download(own, P3) == (200, SECRET)
        added = (await c.container.log.load_stream(uuid.UUID(own)))[-1]
        assert (added.event_type, added.data["location"]) == ("image.location_added", location)

    deactivate = f"/v2/images/{shared}/actions/deactivate"
    assert (await c.api.post(deactivate, headers=P1)).status == 204
    await assert_attach_refused(c, await created_image_id(c.api, P3), location)

    private = await uploaded_image_id(c.api, SECRET, P1, visibility="private")
    by_admin = await c.holder_of(c.location_of(private))
    assert await c.download(by_admin, ADMIN) == (200, SECRET)


# -- removing: never bytes another image holds -------------------------------------------------


async def test_deleting_either_image_leaves_the_bytes_to_the_other(catalog: Catalog) -> None:
    """The report's last step: p3's image, pointing at p1's data (by an admin here), is
    deleted; p1's image keeps its data. Once the last holder is deleted the bytes go."""
    c = catalog
    image = await uploaded_image_id(c.api, SECRET, P1)
    location = c.location_of(image)
    holder = await c.holder_of(location)

    await c.delete(holder, ADMIN)
    assert await c.download(image, P1) == (200, SECRET)

    again = await c.holder_of(location)
    await c.delete(image, P1)
    assert await c.download(again, ADMIN) == (200, SECRET)
    await c.delete(again, ADMIN)
    assert await c.bytes_at(location) is None


async def test_the_scrubber_leaves_bytes_another_image_holds(catalog_with: CatalogFactory) -> None:
    c = await catalog_with(delayed_delete=True)
    image = await uploaded_image_id(c.api, SECRET, P1)
    location = c.location_of(image)
    holder = await c.holder_of(location)

    await c.delete(image, P1)
    assert (await scrub(c.container, image)).result == "scrubbed"
    assert await c.download(holder, ADMIN) == (200, SECRET)

    await c.delete(holder, ADMIN)
    assert (await scrub(c.container, holder)).result == "scrubbed"
    assert await c.bytes_at(location) is None


async def test_an_image_pending_deletion_still_holds_its_bytes(
    catalog_with: CatalogFactory,
) -> None:
    """Until it is scrubbed its bytes are its own: restored, it has them."""
    c = await catalog_with(delayed_delete=True)
    image = await uploaded_image_id(c.api, SECRET, P1)
    holder = await c.holder_of(c.location_of(image))

    await c.delete(image, P1)
    await c.delete(holder, ADMIN)
    assert (await scrub(c.container, holder)).result == "scrubbed"
    restored = await c.api.post(f"/v2/images/{image}/actions/restore", headers=ADMIN)
    assert restored.status == 204
    assert await c.download(image, P1) == (200, SECRET)


async def test_removing_one_stores_copy_leaves_bytes_another_image_holds(
    catalog: Catalog,
) -> None:
    c = catalog
    image = await uploaded_image_id(c.api, SECRET, P1)
    body = {"method": {"name": "copy-image"}, "stores": ["spare"]}
    assert (await c.api.post(f"/v2/images/{image}/import", json=body, headers=ADMIN)).status == 202
    await settled(c.api)
    holder = await c.holder_of(c.location_of(image))

    removed = await c.api.delete(f"/v2/stores/images/{image}", headers=ADMIN)
    assert removed.status == 204
    assert await c.download(holder, ADMIN) == (200, SECRET)
    assert await c.download(image, P1) == (200, SECRET)


async def test_a_rejected_staged_import_leaves_bytes_another_image_holds(
    catalog: Catalog,
) -> None:
    c = catalog
    staged = await created_image_id(c.api, P1, disk_format="vhd")
    raw = b"\x02" * 70_000
    put = await c.api.put(f"/v2/images/{staged}/stage", data=io.BytesIO(raw), headers=P1)
    assert put.status == 204
    holder = await c.holder_of(c.location_of(staged))

    body = {"method": {"name": "glance-direct"}}
    rejected = await c.api.post(f"/v2/images/{staged}/import", json=body, headers=P1)
    assert rejected.status == 415
    assert await c.download(holder, ADMIN) == (200, raw)


async def test_a_failed_upload_leaves_bytes_another_image_holds(catalog: Catalog) -> None:
    """Bytes already under the image's key, held by another image (an admin attached them):
    the upload writes over them, fails its format check, and does not remove them."""
    c = catalog
    image = await created_image_id(c.api, P1, disk_format="qcow2")
    await c.put_bytes(image, SECRET)
    location = c.location_of(image)
    await c.holder_of(location)

    sent = await c.api.put(
        f"/v2/images/{image}/file", data=io.BytesIO(b"\x01" * 300_000), headers={**P1, **OCTETS}
    )
    assert sent.status == 415
    assert await c.bytes_at(location) is not None


async def test_recovering_a_dead_upload_leaves_bytes_another_image_holds(
    catalog: Catalog,
) -> None:
    c = catalog
    image = await created_image_id(c.api, P1)
    await c.put_bytes(image, SECRET)
    location = c.location_of(image)
    holder = await c.holder_of(location)

    def start(current: Image) -> None:
        now = datetime.now(UTC)
        current.start_upload(
            store="images", location=location, expected_size=None, now=now, node_id="dead"
        )

    await c.container.bus.context.images.change(uuid.UUID(image), EventMetadata(), start)
    assert await recover_once(c.container, timedelta(seconds=30)) == [uuid.UUID(image)]
    assert await c.download(holder, ADMIN) == (200, SECRET)


async def test_recovering_a_dead_copy_leaves_bytes_another_image_holds(catalog: Catalog) -> None:
    c = catalog
    image = await uploaded_image_id(c.api, SECRET, P1)
    await c.put_bytes(image, SECRET, "spare")
    location = c.location_of(image, "spare")
    holder = await c.holder_of(location)

    def start(current: Image) -> None:
        current.start_copy("spare", location, "dead", datetime.now(UTC))

    await c.container.bus.context.images.change(uuid.UUID(image), EventMetadata(), start)
    await recover_once(c.container, timedelta(seconds=30))
    assert (await c.container.log.load_stream(uuid.UUID(image)))[-1].event_type == (
        "image.copy_failed"
    )
    assert await c.download(holder, ADMIN) == (200, SECRET)


async def test_a_failed_copy_leaves_bytes_another_image_holds(catalog: Catalog) -> None:
    """The copy writes over them, finds they do not match the image, and does not remove
    them."""
    c = catalog
    image = await uploaded_image_id(c.api, SECRET, P1)
    await c.put_bytes(image, SECRET, "spare")
    location = c.location_of(image, "spare")
    await c.holder_of(location)
    await c.put_bytes(image, b"tampered")  # the source no longer matches its checksum

    body = {"method": {"name": "copy-image"}, "stores": ["spare"]}
    copied = await c.api.post(f"/v2/images/{image}/import", json=body, headers=ADMIN)
    assert copied.status == 202  # the copy fails in the background, its task says so
    await settled(c.api)
    assert (await c.api.get(f"/v2/images/{image}", headers=P1)).status == 200
    assert await c.bytes_at(location) is not None
