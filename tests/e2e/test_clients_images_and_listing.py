"""Images, their changes, tags and listings through the clients people use against a catalog:
python-glanceclient (its Python API and `glance`), openstacksdk and `openstack`.

The Python clients send identity headers (two projects, the three roles); the command lines
cannot, so they act as an admin of CLI_PROJECT through the server's noauth mode.
"""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openstack.exceptions
import pytest
from glanceclient.exc import HTTPConflict, HTTPForbidden, HTTPNotFound

from tests.e2e.conftest import (
    ADMIN,
    CLI_PROJECT,
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    PROJECT_B,
    glance_api,
    glance_cli,
    openstack_cli,
    sdk,
    start_server,
    stop_server,
)

pytestmark = IGNORE_SDK_DEPRECATIONS


def spy_on_gets(client: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths glanceclient GETs from now on, in order (it pages and fetches schemas itself)."""
    requested: list[str] = []
    real_get = client.http_client.get

    def get(url: str, **kwargs: Any) -> Any:
        requested.append(url)
        return real_get(url, **kwargs)

    monkeypatch.setattr(client.http_client, "get", get)
    return requested


# -- create -----------------------------------------------------------------------------------


def test_glanceclient_creates_with_base_attributes_properties_and_a_given_id(
    catalog: str,
) -> None:
    client = glance_api(catalog, PROJECT_A)
    image_id = str(uuid.uuid4())
    created = client.images.create(
        id=image_id,
        name="debian-12",
        disk_format="qcow2",
        container_format="bare",
        min_ram=512,
        min_disk=2,
        protected=True,
        os_hidden=True,
        visibility="private",
        tags=["lts", "x86"],
        os_distro="debian",
        hw_disk_bus="virtio",
    )
    for image in (created, client.images.get(image_id)):
        assert (image.id, image.name, image.status) == (image_id, "debian-12", "queued")
        assert (image.disk_format, image.container_format) == ("qcow2", "bare")
        assert (image.min_ram, image.min_disk) == (512, 2)
        assert (image.protected, image.os_hidden) == (True, True)
        assert (image.visibility, image.owner) == ("private", "proj-a")
        assert sorted(image.tags) == ["lts", "x86"]
        assert (image.os_distro, image.hw_disk_bus) == ("debian", "virtio")

    with pytest.raises(HTTPConflict, match=re.escape(f"Image ID {image_id} already exists!")):
        client.images.create(id=image_id, name="again")

    plain = client.images.create(name="plain")
    assert (plain.visibility, plain.owner, plain.protected) == ("shared", "proj-a", False)
    assert glance_api(catalog, PROJECT_B).images.create(name="theirs").owner == "proj-b"


def test_a_read_only_attribute_on_create_is_403_with_the_servers_message(catalog: str) -> None:
    client = glance_api(catalog, PROJECT_A)
    with pytest.raises(HTTPForbidden) as refused:
        client.images.create(name="forged", checksum="0" * 32)
    # glanceclient accepts any media type, so it reads the HTML error page, escaped as webob
    # escapes Glance's.
    assert "Attribute &#x27;checksum&#x27; is read-only." in str(refused.value)
    assert [i.name for i in client.images.list()] == []


def test_glanceclient_validates_with_the_schema_it_fetches(
    catalog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk formats and types glanceclient enforces come from the server's image schema."""
    client = glance_api(catalog, PROJECT_A)
    requested = spy_on_gets(client, monkeypatch)
    with pytest.raises(TypeError, match="Unable to set 'disk_format' to 'bogus'"):
        client.images.create(name="bad", disk_format="bogus")
    assert requested == ["/v2/schemas/image"]
    with pytest.raises(TypeError, match="'lots' is not of type 'integer'"):
        client.images.create(name="bad", min_ram="lots")
    schema = client.schemas.get("image")
    assert schema.name == "image"
    assert "qcow2" in schema.raw()["properties"]["disk_format"]["enum"]
    assert list(client.images.list()) == []


def test_the_openstack_cli_creates_sets_and_unsets(
    catalog: str, keystone: str, tmp_path: Path
) -> None:
    osc = openstack_cli(catalog, keystone)
    disk = tmp_path / "disk.qcow2"
    # A real qcow2: uploads are inspected, and bytes that are not their disk format are refused.
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1G"], check=True)
    image_id = str(uuid.uuid4())
    created = osc.json(
        "image",
        "create",
        "--id",
        image_id,
        "--disk-format",
        "qcow2",
        "--container-format",
        "bare",
        "--min-ram",
        "256",
        "--min-disk",
        "1",
        "--private",
        "--protected",
        "--tag",
        "lts",
        "--property",
        "os_distro=debian",
        "--property",
        "tier=gold",
        "--file",
        str(disk),
        "cli-image",
    )
    assert (created["id"], created["status"]) == (image_id, "active")
    assert (created["size"], created["virtual_size"]) == (disk.stat().st_size, 1 << 30)
    assert (created["owner"], created["visibility"], created["protected"]) == (
        CLI_PROJECT,
        "private",
        True,
    )
    assert (created["min_ram"], created["min_disk"], created["tags"]) == (256, 1, ["lts"])
    assert created["properties"]["tier"] == "gold"

    osc(
        "image",
        "set",
        "--name",
        "cli-renamed",
        "--min-ram",
        "512",
        "--unprotected",
        "--property",
        "tier=silver",
        "--property",
        "zone=eu",
        "--tag",
        "x86",
        image_id,
    )
    osc("image", "unset", "--property", "os_distro", "--tag", "lts", image_id)
    shown = glance_api(catalog, PROJECT_A).images.get(image_id)
    assert (shown.name, shown.min_ram, shown.protected) == ("cli-renamed", 512, False)
    assert (shown.tier, shown.zone, shown.tags) == ("silver", "eu", ["x86"])
    assert "os_distro" not in shown


# -- PATCH ------------------------------------------------------------------------------------


def test_glanceclient_adds_replaces_and_removes(catalog: str) -> None:
    client = glance_api(catalog, PROJECT_A)
    image = client.images.create(
        name="before", disk_format="raw", container_format="bare", os_distro="debian", scratch="x"
    )
    updated = client.images.update(
        image.id,
        remove_props=["scratch"],
        name="after",
        disk_format="qcow2",
        min_disk=4,
        os_hidden=True,
        os_distro="ubuntu",
        os_version="24.04",
    )
    for shown in (updated, client.images.get(image.id)):
        assert (shown.name, shown.disk_format, shown.min_disk, shown.os_hidden) == (
            "after",
            "qcow2",
            4,
            True,
        )
        assert (shown.os_distro, shown.os_version) == ("ubuntu", "24.04")
        assert "scratch" not in shown
    with pytest.raises(HTTPForbidden, match=re.escape("Property name may not be removed.")):
        client.images.update(image.id, remove_props=["name"])
    # The HTML error page glanceclient reads escapes the quote, as webob does for Glance.
    with pytest.raises(HTTPForbidden, match=re.escape("Owner can&#x27;t be updated by non admin.")):
        client.images.update(image.id, owner="proj-b")


def test_glanceclient_renaming_a_property_sends_a_move(catalog: str) -> None:
    """A property removed and another added with the same value: glanceclient's PATCH (the
    difference of the two documents, by jsonpatch) is one `move`."""
    client = glance_api(catalog, PROJECT_A)
    image = client.images.create(name="renamed-key", old_key="kept value")
    updated = client.images.update(image.id, remove_props=["old_key"], new_key="kept value")
    for shown in (updated, client.images.get(image.id)):
        assert shown.new_key == "kept value"
        assert "old_key" not in shown


def test_openstacksdk_updates_attributes_and_properties(catalog: str) -> None:
    image = glance_api(catalog, PROJECT_A).images.create(name="sdk", os_distro="debian")
    conn = sdk(catalog, PROJECT_A)
    conn.image.update_image(
        image.id, name="sdk-renamed", min_ram=1024, is_protected=True, os_distro="fedora", arch="x"
    )
    shown = conn.image.get_image(image.id)
    assert (shown.name, shown.min_ram, shown.is_protected) == ("sdk-renamed", 1024, True)
    assert shown.os_distro == "fedora"
    assert shown.properties["arch"] == "x"


def test_changes_a_non_owner_may_not_make(catalog: str) -> None:
    """Glance hides what a caller cannot see (404) and refuses what it can see (403)."""
    private = glance_api(catalog, PROJECT_A).images.create(name="private", visibility="private")
    public = glance_api(catalog, ADMIN).images.create(name="public", visibility="public")
    other = glance_api(catalog, PROJECT_B)
    with pytest.raises(HTTPNotFound, match=f"No image found with ID {private.id}"):
        other.images.update(private.id, name="taken")
    with pytest.raises(HTTPForbidden, match="not authorized to complete modify_image action"):
        other.images.update(public.id, name="taken")
    with pytest.raises(openstack.exceptions.ForbiddenException, match="modify_image action"):
        sdk(catalog, PROJECT_B).image.update_image(public.id, os_distro="taken")
    assert glance_api(catalog, ADMIN).images.get(private.id).name == "private"
    assert "os_distro" not in other.images.get(public.id)


# -- tags -------------------------------------------------------------------------------------


def test_tags_with_glanceclient_openstacksdk_and_the_glance_cli(catalog: str) -> None:
    client = glance_api(catalog, PROJECT_A)
    conn = sdk(catalog, PROJECT_A)
    glance = glance_cli(catalog)
    image = client.images.create(name="tagged", tags=["keep"])
    client.image_tags.update(image.id, "gold")
    conn.image.add_tag(image.id, "sdk")
    glance("image-tag-update", image.id, "cli")
    assert sorted(client.images.get(image.id).tags) == ["cli", "gold", "keep", "sdk"]

    client.image_tags.delete(image.id, "keep")
    conn.image.remove_tag(image.id, "sdk")
    assert sorted(client.images.get(image.id).tags) == ["cli", "gold"]
    with pytest.raises(HTTPNotFound, match=re.escape("The resource could not be found.")):
        client.image_tags.delete(image.id, "keep")
    assert "404 Not Found: The resource could not be found." in glance.fails(
        "image-tag-delete", image.id, "missing"
    )


# -- listing ----------------------------------------------------------------------------------

# (name, attributes, bytes uploaded), in the order they are created.
IMAGES: list[tuple[str, dict[str, Any], int]] = [
    ("alpha", {"tags": ["x86", "lts"], "os_distro": "debian", "tier": "gold"}, 10),
    (
        "beta",
        {"tags": ["x86"], "os_distro": "ubuntu", "tier": "gold", "visibility": "private"},
        100,
    ),
    ("gamma", {"tags": ["arm"], "os_distro": "ubuntu"}, 0),
    ("delta", {"visibility": "private"}, 1000),
    ("epsilon", {"tier": "silver"}, 0),
    ("zeta", {}, 0),
    ("eta", {}, 0),
]
NAMES = [name for name, _, _ in IMAGES]
NEWEST_FIRST = NAMES[::-1]


@dataclass(frozen=True)
class Listing:
    url: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listing]:
    """One catalog for the listing tests, which only read it.

    proj-b's private "other" comes first, so it is the oldest: the command lines (admins, who
    list it too) then see proj-a's images on their first newest-first pages. proj-a's seven
    follow one after another, so newest first is their reverse order.
    """
    folder = tmp_path_factory.mktemp("listing")
    url, process = start_server(
        folder / "data", folder / "server.log", {"CATALOG_API_DEFAULT_PROJECT": CLI_PROJECT}
    )
    try:
        other = glance_api(url, PROJECT_B).images.create(name="other", visibility="private")
        ids = {"other": other.id}
        client = glance_api(url, PROJECT_A)
        for name, attributes, size in IMAGES:
            image = client.images.create(
                name=name, disk_format="raw", container_format="bare", **attributes
            )
            if size:
                client.images.upload(image.id, io.BytesIO(b"x" * size))
            ids[name] = image.id
        yield Listing(url, ids)
    finally:
        stop_server(process)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_glanceclient_filters(listing: Listing) -> None:
    client = glance_api(listing.url, PROJECT_A)

    def listed(**filters: Any) -> set[str]:
        return {i.name for i in client.images.list(filters=filters)}

    assert listed() == set(NAMES)
    assert listed(name="alpha") == {"alpha"}
    assert listed(name="in:alpha,gamma") == {"alpha", "gamma"}
    ids = listing.ids
    assert listed(id=f"in:{ids['alpha']},{ids['gamma']},not-an-id") == {"alpha", "gamma"}
    assert listed(status="active") == {"alpha", "beta", "delta"}
    assert listed(status="queued") == {"gamma", "epsilon", "zeta", "eta"}
    assert listed(visibility="private") == {"beta", "delta"}
    assert listed(tag=["x86"]) == {"alpha", "beta"}
    assert listed(tag=["x86", "lts"]) == {"alpha"}
    assert listed(owner="proj-a") == set(NAMES)
    assert listed(owner="proj-b") == set()
    assert listed(os_distro="ubuntu") == {"beta", "gamma"}
    assert listed(tier="gold", visibility="private") == {"beta"}
    assert listed(size_min=50) == {"beta", "delta"}
    assert listed(size_max=50) == {"alpha"}
    assert listed(size_min=50, size_max=500) == {"beta"}

    # Shown times have whole seconds; a second either side of them bounds the stored times.
    created = [datetime.fromisoformat(i.created_at) for i in client.images.list()]
    before, after = min(created) - timedelta(seconds=1), max(created) + timedelta(seconds=1)
    assert listed(created_at=f"gt:{iso(before)}") == set(NAMES)
    assert listed(created_at=f"gt:{iso(after)}") == set()
    assert listed(created_at=f"lt:{iso(after)}", name="in:eta,other") == {"eta"}


def test_an_admin_lists_other_projects_private_images(listing: Listing) -> None:
    admin = glance_api(listing.url, ADMIN)
    assert [i.name for i in admin.images.list(filters={"owner": "proj-b"})] == ["other"]
    assert {i.name for i in admin.images.list()} == {*NAMES, "other"}


def test_glanceclient_sorts_and_pages_by_itself(
    listing: Listing, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = glance_api(listing.url, PROJECT_A)
    requested = spy_on_gets(client, monkeypatch)

    def pages() -> list[str]:
        found = [url for url in requested if url.startswith("/v2/images")]
        requested.clear()
        return found

    assert [i.name for i in client.images.list(page_size=2)] == NEWEST_FIRST
    newest_first_pages = pages()
    assert len(newest_first_pages) == 4, "seven images, two a page"
    assert all("marker=" in url for url in newest_first_pages[1:])

    assert [i.name for i in client.images.list(page_size=2, sort="name:asc")] == sorted(NAMES)
    assert len(pages()) == 4

    by_status = client.images.list(sort_key=["status", "name"], sort_dir=["asc", "desc"])
    active = ["delta", "beta", "alpha"]
    assert [i.name for i in by_status] == [*active, "zeta", "gamma", "eta", "epsilon"]
    assert [i.name for i in client.images.list(page_size=2, limit=3)] == NEWEST_FIRST[:3]


def test_openstacksdk_filters_sorts_and_pages(listing: Listing) -> None:
    conn = sdk(listing.url, PROJECT_A)
    assert [i.name for i in conn.image.images(tag="x86", sort="name:desc")] == ["beta", "alpha"]
    private = conn.image.images(visibility="private", sort_key="name", sort_dir="asc")
    assert [i.name for i in private] == ["beta", "delta"]
    assert [i.name for i in conn.image.images(size_min=50, size_max=500)] == ["beta"]
    assert [i.name for i in conn.image.images(limit=2, sort="name:asc")] == sorted(NAMES)


def test_the_openstack_cli_pages_filters_and_sorts(listing: Listing, keystone: str) -> None:
    osc = openstack_cli(listing.url, keystone)
    # The server pages newest first; the CLI then shows each page sorted as asked.
    first = osc.json("image", "list", "--limit", "2", "--sort", "name:asc")
    assert [i["Name"] for i in first] == ["eta", "zeta"]
    second = osc.json(
        "image", "list", "--limit", "2", "--marker", listing.ids["zeta"], "--sort", "name:asc"
    )
    assert [i["Name"] for i in second] == ["delta", "epsilon"]
    gold = osc.json("image", "list", "--property", "tier=gold", "--sort", "name:desc")
    assert [(i["Name"], i["ID"]) for i in gold] == [
        ("beta", listing.ids["beta"]),
        ("alpha", listing.ids["alpha"]),
    ]


def test_the_glance_cli_lists_page_by_page(listing: Listing) -> None:
    result = glance_cli(listing.url).run("image-list", "--page-size", "2", "--sort", "name:asc")
    assert result.returncode == 0, result.stderr
    # The CLI reads /versions and then the schemas; had it not found v2 there, it would warn
    # that it falls back to v1.
    assert "falling back to v1" not in result.stderr
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| ")]
    listed = [(row[1].strip(), row[2].strip()) for row in rows[1:]]
    # The command line acts as an admin, so proj-b's private image is listed too.
    assert listed == [(listing.ids[name], name) for name in sorted([*NAMES, "other"])]
