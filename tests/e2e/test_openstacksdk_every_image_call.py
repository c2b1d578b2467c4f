"""Every call of openstacksdk's image proxy on images, their data, tags, members and stores, on
an image in every status the catalog serves (queued, saving, uploading, active, deactivated;
`importing` is never seen: a glance-direct import is done when its 202 comes), with the
embedded default's one store and with two."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from openstack import exceptions

from tests.e2e.conftest import (
    ADMIN,
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    PROJECT_B,
    StartServer,
    sdk,
    unfinished_upload,
)
from tests.waiting import eventually

pytestmark = IGNORE_SDK_DEPRECATIONS

DATA = bytes(range(256)) * 1024
TWO_STORES = {"CATALOG_STORES": "fast:file,bulk:file", "CATALOG_DEFAULT_STORE": "bulk"}
FORMATS = {"disk_format": "raw", "container_format": "bare"}
NO_SUCH_IMAGE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(params=["one store", "two stores"])
def url(request: pytest.FixtureRequest, serve: StartServer) -> str:
    return serve(TWO_STORES if request.param == "two stores" else {})


def status_becomes(conn: Any, image_id: str, status: str) -> Any:
    return eventually(
        lambda: (image := conn.image.get_image(image_id)).status == status and image,
        f"image {image_id} {status}",
    )


def copy_done(conn: Any, image_id: str) -> Any:
    """The image once its copy-image import ended, as Tempest's waiter tells it."""
    return eventually(
        lambda: (
            (image := conn.image.get_image(image_id)).properties.get(
                "os_glance_importing_to_stores"
            )
            == ""
            and "os_glance_import_task" not in image.properties
            and image
        ),
        f"image {image_id} copied",
    )


def works_on_any_image(owner: Any, member: Any, image_id: str, default_store: str) -> None:
    """What every image takes, whatever its status: reads, updates, tags and members."""
    images = owner.image
    image = images.get_image(image_id)
    stores = image.properties.get("stores")
    assert images.find_image(image.name).id == image_id
    assert images.find_image(image_id).id == image_id
    assert image_id in [i.id for i in images.images(status=image.status)]

    # Custom properties: the SDK removes every key it read and was not given, `stores` too,
    # and a value equal to one it removes comes as a `move` (here, from `/stores`).
    updated = images.update_image(images.get_image(image_id), k="v2", backend=default_store)
    assert (updated.properties["k"], updated.properties["backend"]) == ("v2", default_store)
    assert updated.properties.get("stores") == stores
    assert images.update_image_properties(images.get_image(image_id), os_distro="debian")
    updated = images.update_image(
        images.get_image(image_id),
        name=f"{image.name}-2",
        min_ram=128,
        is_hidden=True,
        is_protected=True,
    )
    assert (updated.name, updated.min_ram, updated.is_hidden) == (f"{image.name}-2", 128, True)
    with pytest.raises(exceptions.ForbiddenException):
        images.delete_image(image_id, ignore_missing=False)
    images.update_image(
        images.get_image(image_id), is_hidden=False, is_protected=False, visibility="shared"
    )

    images.update_image(images.get_image(image_id), tags=["b", "a"])
    images.add_tag(image_id, "c")
    images.remove_tag(image_id, "a")
    shown = images.get_image(image_id)
    assert (shown.tags, shown.os_distro, shown.properties["k"]) == (["b", "c"], "debian", "v2")

    images.add_member(image_id, member_id="proj-b")
    member.image.update_member("proj-b", image_id, status="accepted")
    assert images.get_member("proj-b", image_id).status == "accepted"
    assert images.find_member("proj-b", image_id).status == "accepted"
    assert [m.member_id for m in images.members(image_id)] == ["proj-b"]
    assert member.image.get_image(image_id).status == image.status
    images.remove_member("proj-b", image_id)
    assert list(images.members(image_id)) == []


def downloads(images: Any, image_id: str, data: bytes, tmp_path: Path, stores: list[str]) -> None:
    """Whole, streamed, into a file, from a preferred store, and a range."""
    assert images.download_image(image_id).content == data
    streamed = images.download_image(image_id, stream=True)
    assert b"".join(streamed.iter_content(chunk_size=4096)) == data
    images.download_image(image_id, output=str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == data
    assert images.download_image(image_id, store_preferences=stores).content == data
    ranged = images.get(f"/images/{image_id}/file", headers={"Range": "bytes=100-199"})
    assert (ranged.status_code, ranged.content) == (206, data[100:200])


def test_every_call_on_images_in_every_status(url: str, tmp_path: Path) -> None:
    owner, member = sdk(url, PROJECT_A), sdk(url, PROJECT_B)
    images = owner.image
    default_store = next(s.id for s in images.stores() if s.is_default)
    stores = [s.id for s in images.stores()]

    # queued: no data to read; an upload makes it active.
    queued = images.create_image("queued", **FORMATS, k="v")
    works_on_any_image(owner, member, queued.id, default_store)
    assert images.download_image(queued.id).content == b""
    assert images.get_image(queued.id).upload(images, data=DATA).status_code == 204
    assert status_becomes(owner, queued.id, "active").checksum == hashlib.md5(DATA).hexdigest()

    # saving: while an upload streams in; the upload cut short leaves it queued.
    saving = images.create_image("saving", **FORMATS, k="v")
    upload = unfinished_upload(url, saving.id, PROJECT_A)
    status_becomes(owner, saving.id, "saving")
    works_on_any_image(owner, member, saving.id, default_store)
    upload.close()
    status_becomes(owner, saving.id, "queued")

    # uploading: staged, then imported.
    staged = images.create_image("uploading", **FORMATS, k="v")
    images.stage_image(staged, data=DATA)
    works_on_any_image(owner, member, staged.id, default_store)
    imported = images.import_image(images.get_image(staged.id), method="glance-direct")
    assert imported.status_code == 202
    assert status_becomes(owner, staged.id, "active").properties["stores"] == default_store

    # active, then deactivated, then active again.
    active = images.create_image("active", **FORMATS, data=DATA, k="v")
    works_on_any_image(owner, member, active.id, default_store)
    downloads(images, active.id, DATA, tmp_path, stores)
    images.deactivate_image(active.id)
    works_on_any_image(owner, member, active.id, default_store)
    assert images.get(f"/images/{active.id}/file").status_code == 403
    images.reactivate_image(active.id)
    downloads(images, status_becomes(owner, active.id, "active").id, DATA, tmp_path, stores)

    for image_id in (queued.id, saving.id, staged.id, active.id):
        image = images.get_image(image_id)
        images.delete_image(image, ignore_missing=False)
        images.wait_for_delete(image, interval=0.1)
    assert list(images.images()) == []


def test_every_way_to_create(url: str) -> None:
    conn = sdk(url, PROJECT_A)
    images = conn.image
    default_store = next(s.id for s in images.stores() if s.is_default)
    created = [
        images.create_image("from-bytes", **FORMATS, data=DATA, validate_checksum=True),
        images.create_image("from-stream", **FORMATS, data=io.BytesIO(DATA)),
        images.create_image("imported", **FORMATS, data=DATA, use_import=True, wait=True),
        images.create_image("in-all-stores", **FORMATS, data=DATA, all_stores=True),
        images.upload_image(**FORMATS, data=DATA, name="deprecated-upload"),
    ]
    for image in created:
        shown = status_becomes(conn, image.id, "active")  # imports end in the background
        assert (shown.status, shown.size, shown.checksum) == (
            "active",
            len(DATA),
            hashlib.md5(DATA).hexdigest(),
        ), shown.name
        assert images.download_image(image.id).content == DATA
    stores = {i.name: images.get_image(i.id).properties["stores"] for i in created}
    assert stores["from-bytes"] == default_store
    writable = {s.id for s in images.stores()}
    assert set(stores["in-all-stores"].split(",")) == writable

    # An image of that name already there, with the same data: the SDK gives it back.
    again = images.create_image("from-bytes", **FORMATS, data=DATA, validate_checksum=True)
    assert again.id == created[0].id
    with_meta = images.create_image(
        "with-meta", **FORMATS, tags=["x"], visibility="private", min_disk=1
    )
    shown = images.get_image(with_meta.id)
    assert (shown.tags, shown.visibility, shown.min_disk, shown.status) == (
        ["x"],
        "private",
        1,
        "queued",
    )


# The SDK never closes the file it opens for `filename=`.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_create_from_a_file(embedded_server: str, tmp_path: Path) -> None:
    images = sdk(embedded_server, PROJECT_A).image
    source = tmp_path / "disk.raw"
    source.write_bytes(DATA)
    image = images.create_image("from-file", **FORMATS, filename=str(source))
    assert images.download_image(image.id).content == DATA


def test_several_stores_through_the_sdk(serve: StartServer) -> None:
    url = serve(TWO_STORES)
    owner, admin = sdk(url, PROJECT_A), sdk(url, ADMIN)
    images = owner.image
    assert [(s.id, s.is_default) for s in images.stores()] == [("fast", None), ("bulk", True)]
    assert [s.id for s in admin.image.stores(details=True)] == ["fast", "bulk"]

    image = images.create_image("copied", **FORMATS, data=DATA)
    assert images.get_image(image.id).properties["stores"] == "bulk"
    copied = admin.image.import_image(
        images.get_image(image.id), method="copy-image", stores=["fast"]
    )
    assert copied.status_code == 202
    copy_done(owner, image.id)
    assert images.get_image(image.id).properties["stores"] == "bulk,fast"
    updated = images.update_image(images.get_image(image.id), k="v")
    assert (updated.properties["k"], updated.properties["stores"]) == ("v", "bulk,fast")
    admin.image.delete_image(image.id, store="bulk", ignore_missing=False)
    assert images.get_image(image.id).properties["stores"] == "fast"
    assert images.download_image(image.id).content == DATA
    assert images.download_image(image.id, store_preferences=["bulk", "fast"]).content == DATA
    refused = admin.image.import_image(
        images.get_image(image.id), method="copy-image", stores=["fast"]
    )
    assert refused.status_code == 400


def test_lists_finds_and_service_information(url: str) -> None:
    owner, member = sdk(url, PROJECT_A), sdk(url, PROJECT_B)
    images = owner.image
    first = images.create_image("first", **FORMATS, data=DATA, tags=["gold"], os_distro="debian")
    second = images.create_image("second", **FORMATS, k="v")
    images.add_member(second.id, member_id="proj-b")

    def names(**query: Any) -> list[str]:
        return [i.name for i in images.images(**query)]

    assert names(sort_key="name", sort_dir="asc") == ["first", "second"]
    assert names(sort="name:desc") == ["second", "first"]
    assert names(limit=1, sort="name:asc") == ["first", "second"]  # the SDK follows `next`
    assert names(name="first") == names(id=first.id) == names(tag="gold") == ["first"]
    assert names(status="in:active,queued", owner="proj-a", visibility="shared") == names()
    assert names(size_min=1, size_max=len(DATA)) == ["first"]
    assert names(protected=False, is_hidden=False, os_distro="debian") == ["first"]
    assert names(created_at="gt:2000-01-01T00:00:00Z", sort="name:asc") == ["first", "second"]
    assert [i.name for i in member.image.images(member_status="pending")] == ["second"]
    assert images.find_image("nothing") is None
    with pytest.raises(exceptions.NotFoundException):
        images.find_image("nothing", ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        images.delete_image(NO_SUCH_IMAGE, ignore_missing=False)

    assert images.get_import_info().import_methods["value"] == [
        "glance-direct",
        "web-download",
        "copy-image",
    ]
    for schema in (
        images.get_image_schema(),
        images.get_images_schema(),
        images.get_member_schema(),
        images.get_members_schema(),
    ):
        assert schema.properties
