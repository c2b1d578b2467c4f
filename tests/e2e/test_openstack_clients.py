"""openstacksdk, the `openstack` CLI and the `glance` CLI against a running catalog."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import IGNORE_SDK_DEPRECATIONS, glance_cli, openstack_cli, sdk

pytestmark = IGNORE_SDK_DEPRECATIONS

IDENTITY = {"X-Project-Id": "proj-sdk", "X-User-Id": "sdk-user", "X-Roles": "member,reader"}


def test_openstacksdk_create_update_tag_download_delete(embedded_server: str) -> None:
    conn = sdk(embedded_server, IDENTITY)
    image = conn.image.create_image(
        name="sdk-img", disk_format="raw", container_format="bare", data=b"hello sdk"
    )
    stored = conn.image.get_image(image.id)
    assert (stored.status, stored.owner, stored.size) == ("active", "proj-sdk", 9)
    assert "sdk-img" in [i.name for i in conn.image.images()]
    conn.image.update_image(image, name="renamed", os_distro="debian")
    conn.image.add_tag(image, "t1")
    shown = conn.image.get_image(image.id)
    assert (shown.name, shown.os_distro, shown.tags) == ("renamed", "debian", ["t1"])
    assert conn.image.download_image(image).content == b"hello sdk"
    conn.image.delete_image(image)
    assert "renamed" not in [i.name for i in conn.image.images()]


def test_openstacksdk_shares_an_image_between_projects(embedded_server: str) -> None:
    owner = sdk(embedded_server, IDENTITY)
    other = sdk(embedded_server, {**IDENTITY, "X-Project-Id": "proj-other"})
    image = owner.image.create_image(
        name="to-share", disk_format="raw", container_format="bare", data=b"x"
    )
    owner.image.add_member(image, member_id="proj-other")
    other.image.update_member("proj-other", image, status="accepted")
    assert "to-share" in [i.name for i in other.image.images()]
    assert [m.status for m in owner.image.members(image)] == ["accepted"]


def test_the_openstack_cli(embedded_server: str, keystone: str, tmp_path: Path) -> None:
    osc = openstack_cli(embedded_server, keystone)
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"osc bytes")
    created = osc.json(
        "image",
        "create",
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--file",
        str(disk),
        "--property",
        "os_distro=debian",
        "osc-img",
    )
    assert (created["status"], created["size"]) == ("active", len(b"osc bytes"))
    osc("image", "set", "--name", "osc-renamed", "--tag", "cli", created["id"])
    shown = osc.json("image", "show", created["id"])
    assert (shown["name"], shown["tags"]) == ("osc-renamed", ["cli"])
    assert shown["properties"]["os_distro"] == "debian"
    listed = osc.json("image", "list")
    assert [i["Name"] for i in listed] == ["osc-renamed"]
    osc("image", "delete", created["id"])
    assert osc.json("image", "list") == []


def test_the_glance_cli(embedded_server: str, tmp_path: Path) -> None:
    glance = glance_cli(embedded_server)

    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"glance cli bytes")
    created = glance(
        "image-create",
        "--name",
        "cli-img",
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--file",
        str(disk),
        "--property",
        "k=v",
    )
    image_id = next(
        line.split("|")[2].strip() for line in created.splitlines() if line.startswith("| id ")
    )
    glance("image-tag-update", image_id, "gold")
    glance("image-update", image_id, "--name", "cli-renamed", "--min-ram", "256")
    glance("member-create", image_id, "proj-friend")
    shown = glance("image-show", image_id)
    for expected in ("cli-renamed", "gold", "256", "active"):
        assert expected in shown
    assert "proj-friend" in glance("member-list", "--image-id", image_id)
    assert image_id in glance("image-list")
    glance("image-delete", image_id)
    assert image_id not in glance("image-list")
