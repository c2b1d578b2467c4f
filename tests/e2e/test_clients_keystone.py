"""The clients people use, with real Keystone tokens, against a catalog in keystone mode.

Each test starts a catalog (`CATALOG_API_AUTH_MODE=keystone`) and registers it in Keystone's
catalog as the image service of a region of its own; the clients authenticate with a password
and find the image service through Keystone, as they do in a cloud. Two projects and the three
roles: an admin, a member and a reader of project A, and a member of project B.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openstack
import openstack.exceptions
import pytest
from glanceclient import Client as GlanceClient
from glanceclient.exc import HTTPForbidden, HTTPNotFound, HTTPUnauthorized
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneauth1.service_token import ServiceTokenAuthWrapper
from keystoneauth1.token_endpoint import Token

from tests.conftest import service_setting
from tests.e2e.conftest import BIN, IGNORE_SDK_DEPRECATIONS, Cli, StartServer
from tests.keystone_accounts import Account, KeystoneAdmin, keystone_url

pytestmark = [pytest.mark.keystone, *IGNORE_SDK_DEPRECATIONS]

DOMAIN = "Default"


@dataclass(frozen=True)
class Cloud:
    """A catalog registered in Keystone, and the accounts that use it."""

    region: str
    admin: Account
    member: Account
    reader: Account
    other: Account
    """A member of project B."""


@pytest.fixture
async def cloud(serve: StartServer, keystone_admin: KeystoneAdmin) -> AsyncIterator[Cloud]:
    url = serve(
        {
            "CATALOG_API_AUTH_MODE": "keystone",
            "CATALOG_KEYSTONE_AUTH_URL": keystone_url(),
            "CATALOG_KEYSTONE_USERNAME": service_setting("CATALOG_TEST_KEYSTONE_CATALOG_USER"),
            "CATALOG_KEYSTONE_PASSWORD": service_setting("CATALOG_TEST_KEYSTONE_CATALOG_PASSWORD"),
            "CATALOG_KEYSTONE_PROJECT_NAME": "service",
        }
    )
    member = await keystone_admin.account("member")
    project = member.project_name
    admin = await keystone_admin.account("admin", project_name=project)
    reader = await keystone_admin.account("reader", project_name=project)
    other = await keystone_admin.account("member")
    async with keystone_admin.region_serving_images(url) as region:
        yield Cloud(region, admin, member, reader, other)


def password(account: Account) -> v3.Password:
    return v3.Password(
        auth_url=keystone_url(),
        username=account.user_name,
        password=account.password,
        project_name=account.project_name,
        user_domain_name=DOMAIN,
        project_domain_name=DOMAIN,
    )


def glance(cloud: Cloud, auth: Any) -> Any:
    """python-glanceclient on a keystoneauth session, finding the catalog in Keystone's."""
    return GlanceClient("2", session=ks_session.Session(auth=auth), region_name=cloud.region)


# -- the openstack CLI -------------------------------------------------------------------------


def osc(cloud: Cloud, account: Account) -> Cli:
    """`openstack` with password authentication, as a cloud's users run it."""
    env = {
        "OS_AUTH_URL": keystone_url(),
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": account.user_name,
        "OS_PASSWORD": account.password,
        "OS_PROJECT_NAME": account.project_name,
        "OS_USER_DOMAIN_NAME": DOMAIN,
        "OS_PROJECT_DOMAIN_NAME": DOMAIN,
        "OS_REGION_NAME": cloud.region,
        "OS_INTERFACE": "public",
        "OS_IMAGE_API_VERSION": "2",
    }
    return Cli((str(BIN / "openstack"),), env)


def test_the_openstack_cli_with_a_password(cloud: Cloud, tmp_path: Path) -> None:
    owner, other, reader = (osc(cloud, a) for a in (cloud.member, cloud.other, cloud.reader))
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"bytes from the openstack cli")
    created = owner.json(
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(disk), "osc-keystone",
    )  # fmt: skip
    assert (created["status"], created["owner"]) == ("active", cloud.member.project_id)
    assert created["size"] == len(b"bytes from the openstack cli")
    assert "osc-keystone" in [i["Name"] for i in owner.json("image", "list")]

    owner("image", "set", "--property", "os_distro=debian", created["id"])
    shown = owner.json("image", "show", created["id"])
    assert shown["properties"]["os_distro"] == "debian"

    # Project B's member sees the image once it is shared with B, and lists it once accepted.
    assert "No Image found" in other.fails("image", "show", created["id"])
    owner("image", "add", "project", created["id"], cloud.other.project_id)
    assert other.json("image", "show", created["id"])["name"] == "osc-keystone"
    other("image", "set", "--accept", created["id"])
    assert created["id"] in [i["ID"] for i in other.json("image", "list")]

    # A reader of project A reads, and may not write.
    assert reader.json("image", "show", created["id"])["owner"] == cloud.member.project_id
    refused = reader.fails("image", "create", "--disk-format", "raw", "reader-image")
    assert "403" in refused or "Forbidden" in refused

    owner("image", "delete", created["id"])
    assert "No Image found" in owner.fails("image", "show", created["id"])


# -- python-glanceclient with a keystoneauth session -------------------------------------------


def test_glanceclient_on_a_keystoneauth_session(cloud: Cloud) -> None:
    owner = glance(cloud, password(cloud.member))
    image = owner.images.create(name="gc-keystone", disk_format="raw", container_format="bare")
    owner.images.upload(image.id, io.BytesIO(b"glanceclient bytes"))
    assert b"".join(owner.images.data(image.id)) == b"glanceclient bytes"
    assert owner.images.get(image.id).owner == cloud.member.project_id

    other = glance(cloud, password(cloud.other))
    with pytest.raises(HTTPNotFound):
        other.images.get(image.id)
    owner.image_members.create(image.id, cloud.other.project_id)
    other.image_members.update(image.id, cloud.other.project_id, "accepted")
    assert image.id in [i.id for i in other.images.list()]
    assert b"".join(other.images.data(image.id)) == b"glanceclient bytes"

    # The three roles of project A: only the admin may make an image public.
    with pytest.raises(HTTPForbidden):
        owner.images.update(image.id, visibility="public")
    admin = glance(cloud, password(cloud.admin))
    assert admin.images.update(image.id, visibility="public").visibility == "public"
    reader = glance(cloud, password(cloud.reader))
    assert reader.images.get(image.id).visibility == "public"
    with pytest.raises(HTTPForbidden):
        reader.images.create(name="no", disk_format="raw", container_format="bare")

    owner.images.delete(image.id)
    with pytest.raises(HTTPNotFound):
        owner.images.get(image.id)


# -- openstacksdk with a clouds.yaml -----------------------------------------------------------


def clouds_yaml(cloud: Cloud, path: Path) -> Path:
    """A clouds.yaml naming each account as a cloud (JSON is YAML)."""
    clouds = {
        name: {
            "auth": {
                "auth_url": keystone_url(),
                "username": account.user_name,
                "password": account.password,
                "project_name": account.project_name,
                "user_domain_name": DOMAIN,
                "project_domain_name": DOMAIN,
            },
            "region_name": cloud.region,
            "identity_api_version": 3,
            "image_api_version": "2",
        }
        for name, account in (("member", cloud.member), ("reader", cloud.reader))
    }
    path.write_text(json.dumps({"clouds": clouds}))
    return path


def test_openstacksdk_with_a_clouds_yaml(
    cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_yaml(cloud, tmp_path / "clouds.yaml")))
    member = openstack.connect(cloud="member")
    image = member.image.create_image(
        name="sdk-keystone", disk_format="raw", container_format="bare", data=b"sdk bytes"
    )
    member.image.update_image(image.id, os_distro="debian")
    shown = member.image.get_image(image.id)
    assert (shown.status, shown.owner, shown.os_distro) == (
        "active",
        cloud.member.project_id,
        "debian",
    )
    assert member.image.download_image(image.id).content == b"sdk bytes"

    reader = openstack.connect(cloud="reader")
    assert image.id in [i.id for i in reader.image.images()]
    with pytest.raises(openstack.exceptions.ForbiddenException):
        reader.image.create_image(name="no", disk_format="raw", container_format="bare")

    member.image.delete_image(image.id)
    assert image.id not in [i.id for i in member.image.images()]


# -- a service acting for a user, as compute does ----------------------------------------------


def compute_service() -> v3.Password:
    return v3.Password(
        auth_url=keystone_url(),
        username=service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_USER"),
        password=service_setting("CATALOG_TEST_KEYSTONE_COMPUTE_PASSWORD"),
        project_name="service",
        user_domain_name=DOMAIN,
        project_domain_name=DOMAIN,
    )


def test_a_call_with_a_users_token_and_a_service_token(cloud: Cloud) -> None:
    # How compute calls the image service for a user (a snapshot): the user's token, and its own
    # in X-Service-Token (keystoneauth's wrapper, which compute uses).
    user = password(cloud.member)
    session = ks_session.Session(auth=ServiceTokenAuthWrapper(user, compute_service()))
    client = GlanceClient("2", session=session, region_name=cloud.region)
    image = client.images.create(name="snapshot", disk_format="raw", container_format="bare")
    client.images.upload(image.id, io.BytesIO(b"snapshot bytes"))
    assert client.images.get(image.id).owner == cloud.member.project_id

    endpoint = {"service_type": "image", "interface": "public", "region_name": cloud.region}
    history = session.get(f"/v2/images/{image.id}/history", endpoint_filter=endpoint).json()
    actors = {json.dumps(event["actor"], sort_keys=True) for event in history["events"]}
    assert [json.loads(actor)["project_id"] for actor in actors] == [cloud.member.project_id]
    assert [json.loads(actor)["service_roles"] for actor in actors] == [["service"]]

    # A service token Keystone does not vouch for fails the call, as behind keystonemiddleware.
    forged = ServiceTokenAuthWrapper(password(cloud.member), Token(None, "gAAAAABforged"))
    with pytest.raises(HTTPUnauthorized):
        glance(cloud, forged).images.get(image.id)
