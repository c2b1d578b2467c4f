"""openstacksdk, the `openstack` CLI and the `glance` CLI against a running catalog."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openstack

from tests.e2e.conftest import IGNORE_SDK_DEPRECATIONS

pytestmark = IGNORE_SDK_DEPRECATIONS

BIN = Path(sys.executable).parent
IDENTITY = {"X-Project-Id": "proj-sdk", "X-User-Id": "sdk-user", "X-Roles": "member,reader"}


def sdk(url: str, identity: dict[str, str] = IDENTITY) -> Any:
    conn = openstack.connect(auth_type="none", auth={"endpoint": url}, image_api_version="2")
    conn.session.additional_headers = dict(identity)
    return conn


def test_openstacksdk_create_update_tag_download_delete(embedded_server: str) -> None:
    conn = sdk(embedded_server)
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
    owner = sdk(embedded_server)
    other = sdk(embedded_server, {**IDENTITY, "X-Project-Id": "proj-other"})
    image = owner.image.create_image(
        name="to-share", disk_format="raw", container_format="bare", data=b"x"
    )
    owner.image.add_member(image, member_id="proj-other")
    other.image.update_member("proj-other", image, status="accepted")
    assert "to-share" in [i.name for i in other.image.images()]
    assert [m.status for m in owner.image.members(image)] == ["accepted"]


def run(*argv: str) -> str:
    """Run a client command line; its own warnings are silenced, a failure fails the test."""
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def cli(*args: str) -> Any:
    """`openstack …` without Keystone; the catalog's noauth mode gives the default project."""
    output = run(str(BIN / "openstack"), "--os-auth-type", "none", *args)
    return json.loads(output) if output.strip().startswith(("{", "[")) else None


def test_the_openstack_cli(embedded_server: str, tmp_path: Path) -> None:
    endpoint = ("--os-endpoint", embedded_server, "--os-image-api-version", "2")
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"osc bytes")
    created = cli(
        "image",
        "create",
        *endpoint,
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--file",
        str(disk),
        "--property",
        "os_distro=debian",
        "osc-img",
        "-f",
        "json",
    )
    assert (created["status"], created["size"]) == ("active", len(b"osc bytes"))
    cli("image", "set", *endpoint, "--name", "osc-renamed", "--tag", "cli", created["id"])
    shown = cli("image", "show", *endpoint, created["id"], "-f", "json")
    assert (shown["name"], shown["tags"]) == ("osc-renamed", ["cli"])
    assert shown["properties"]["os_distro"] == "debian"
    listed = cli("image", "list", *endpoint, "-f", "json")
    assert [i["Name"] for i in listed] == ["osc-renamed"]
    cli("image", "delete", *endpoint, created["id"])
    assert cli("image", "list", *endpoint, "-f", "json") == []


def test_the_glance_cli(embedded_server: str, tmp_path: Path) -> None:
    base = [str(BIN / "glance"), "--os-image-url", embedded_server, "--os-auth-token", "x"]

    def glance(*args: str) -> str:
        return run(*base, *args)

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
