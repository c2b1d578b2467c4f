"""Sharing, deactivation, protection, roles and quotas through the clients people use against a
catalog: python-glanceclient (its Python API and `glance`), openstacksdk and `openstack`.

The Python clients send identity headers (two projects, a stranger, the three roles); the command
lines cannot, so they act as an admin of CLI_PROJECT (proj-a) through the server's noauth mode.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openstack.exceptions
import pytest
from glanceclient.exc import HTTPForbidden, HTTPNotFound, HTTPOverLimit

from tests.e2e.conftest import (
    ADMIN,
    CLI_PROJECT,
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    PROJECT_B,
    READER_A,
    STRANGER,
    StartServer,
    glance_api,
    glance_cli,
    openstack_cli,
    sdk,
)

pytestmark = IGNORE_SDK_DEPRECATIONS


def listed_ids(client: Any) -> list[str]:
    return [i.id for i in client.images.list()]


def memberships(client: Any, image_id: str) -> list[tuple[str, str]]:
    return [(m.member_id, m.status) for m in client.image_members.list(image_id)]


def image_with_data(client: Any, name: str, data: bytes) -> Any:
    image = client.images.create(name=name, disk_format="raw", container_format="bare")
    client.images.upload(image.id, io.BytesIO(data))
    return image


# -- members ----------------------------------------------------------------------------------


def test_sharing_with_glanceclient(catalog: str) -> None:
    owner = glance_api(catalog, PROJECT_A)
    member = glance_api(catalog, PROJECT_B)
    stranger = glance_api(catalog, STRANGER)
    image = image_with_data(owner, "shared-img", b"shared bytes")
    with pytest.raises(HTTPNotFound):
        member.images.get(image.id)

    added = owner.image_members.create(image.id, "proj-b")
    assert (added.image_id, added.member_id, added.status) == (image.id, "proj-b", "pending")
    # Pending: the member can show the image and its own membership, but does not list it.
    assert member.images.get(image.id).name == "shared-img"
    assert memberships(member, image.id) == [("proj-b", "pending")]
    assert image.id not in listed_ids(member)

    with pytest.raises(HTTPForbidden, match="not authorized to complete modify_member action"):
        owner.image_members.update(image.id, "proj-b", "accepted")
    member.image_members.update(image.id, "proj-b", "accepted")
    assert image.id in listed_ids(member)
    assert b"".join(member.images.data(image.id)) == b"shared bytes"
    member.image_members.update(image.id, "proj-b", "rejected")
    assert image.id not in listed_ids(member)
    assert memberships(owner, image.id) == [("proj-b", "rejected")]

    with pytest.raises(HTTPNotFound, match=f"No image found with ID {image.id}"):
        stranger.images.get(image.id)
    assert image.id not in listed_ids(stranger)

    owner.image_members.delete(image.id, "proj-b")
    assert memberships(owner, image.id) == []
    with pytest.raises(HTTPNotFound):
        member.images.get(image.id)


def test_sharing_with_the_command_lines(catalog: str, keystone: str) -> None:
    osc = openstack_cli(catalog, keystone)
    ours_client = glance_api(catalog, PROJECT_A)
    theirs_client = glance_api(catalog, PROJECT_B)

    # The CLIs' project shares an image with proj-b, which accepts it.
    ours = ours_client.images.create(name="ours")
    added = osc.json("image", "add", "project", ours.id, "proj-b")
    assert (added["image_id"], added["member_id"], added["status"]) == (
        ours.id,
        "proj-b",
        "pending",
    )
    assert ours.id not in listed_ids(theirs_client)
    theirs_client.image_members.update(ours.id, "proj-b", "accepted")
    assert ours.id in listed_ids(theirs_client)
    assert osc.json("image", "member", "list", ours.id) == [
        {"Image ID": ours.id, "Member ID": "proj-b", "Status": "accepted"}
    ]

    # proj-b shares one back; the CLIs accept it for their project, then `glance` rejects it.
    # A non-admin caller of proj-a shows which images the project lists.
    theirs = theirs_client.images.create(name="theirs")
    theirs_client.image_members.create(theirs.id, CLI_PROJECT)
    assert theirs.id not in listed_ids(ours_client)
    osc("image", "set", "--accept", "--project", CLI_PROJECT, theirs.id)
    assert memberships(theirs_client, theirs.id) == [(CLI_PROJECT, "accepted")]
    assert theirs.id in listed_ids(ours_client)
    glance_cli(catalog)("member-update", theirs.id, CLI_PROJECT, "rejected")
    assert memberships(theirs_client, theirs.id) == [(CLI_PROJECT, "rejected")]
    assert theirs.id not in listed_ids(ours_client)


# -- actions ----------------------------------------------------------------------------------


def test_deactivation_blocks_downloads_except_for_admins(catalog: str, keystone: str) -> None:
    osc = openstack_cli(catalog, keystone)
    owner = glance_api(catalog, PROJECT_A)
    image = image_with_data(owner, "disk", b"disk bytes")

    glance_cli(catalog)("image-deactivate", image.id)
    assert owner.images.get(image.id).status == "deactivated"
    with pytest.raises(HTTPForbidden, match=re.escape("The requested image has been deactivated.")):
        owner.images.data(image.id)
    assert b"".join(glance_api(catalog, ADMIN).images.data(image.id)) == b"disk bytes"

    osc("image", "set", "--activate", image.id)
    assert owner.images.get(image.id).status == "active"
    assert b"".join(owner.images.data(image.id)) == b"disk bytes"

    osc("image", "set", "--deactivate", image.id)
    assert owner.images.get(image.id).status == "deactivated"
    with pytest.raises(HTTPForbidden, match="not authorized to complete reactivate action"):
        glance_api(catalog, READER_A).images.reactivate(image.id)
    owner.images.reactivate(image.id)
    assert owner.images.get(image.id).status == "active"


def test_a_protected_image_is_deleted_only_once_unprotected(catalog: str, keystone: str) -> None:
    owner = glance_api(catalog, PROJECT_A)
    image = owner.images.create(name="keep-me", protected=True)
    message = f"Image {image.id} is protected and cannot be deleted."
    with pytest.raises(HTTPForbidden, match=re.escape(message)):
        owner.images.delete(image.id)
    # Even an admin is refused; the CLI shows the server's reason.
    assert message in openstack_cli(catalog, keystone).fails("image", "delete", image.id)

    owner.images.update(image.id, protected=False)
    owner.images.delete(image.id)
    with pytest.raises(HTTPNotFound):
        owner.images.get(image.id)


# -- roles ------------------------------------------------------------------------------------


def test_readers_see_members_create_and_only_admins_publicize(catalog: str, keystone: str) -> None:
    member = glance_api(catalog, PROJECT_A)
    image = image_with_data(member, "member-made", b"bytes")
    assert image.owner == "proj-a"

    # A reader of the same project sees the image through either client but may not create.
    reader_sdk = sdk(catalog, READER_A)
    assert [i.name for i in reader_sdk.image.images()] == ["member-made"]
    assert reader_sdk.image.get_image(image.id).owner == "proj-a"
    reader = glance_api(catalog, READER_A)
    assert reader.images.get(image.id).name == "member-made"
    with pytest.raises(HTTPForbidden, match="not authorized to complete add_image action"):
        reader.images.create(name="reader-made")

    # Making an image public takes an admin: the CLI user is one.
    with pytest.raises(HTTPForbidden, match="not authorized to complete publicize_image action"):
        member.images.create(name="member-public", visibility="public")
    with pytest.raises(openstack.exceptions.ForbiddenException, match="publicize_image action"):
        sdk(catalog, PROJECT_A).image.update_image(image.id, visibility="public")
    other = glance_api(catalog, PROJECT_B)
    assert image.id not in listed_ids(other)
    openstack_cli(catalog, keystone)("image", "set", "--public", image.id)
    assert other.images.get(image.id).visibility == "public"
    assert image.id in listed_ids(other)

    # An admin sees another project's private image; members of other projects do not.
    private = other.images.create(name="b-private", visibility="private")
    admin = glance_api(catalog, ADMIN)
    assert admin.images.get(private.id).owner == "proj-b"
    assert private.id in listed_ids(admin)
    with pytest.raises(HTTPNotFound):
        member.images.get(private.id)
    assert private.id not in listed_ids(member)


# -- quotas -----------------------------------------------------------------------------------


def test_quotas_are_413_through_the_clients(serve: StartServer, keystone: str) -> None:
    url = serve(
        {
            "CATALOG_API_DEFAULT_PROJECT": CLI_PROJECT,
            "CATALOG_IMAGE_TAG_QUOTA": "2",
            "CATALOG_IMAGE_PROPERTY_QUOTA": "2",
            "CATALOG_IMAGE_MEMBER_QUOTA": "1",
        }
    )
    client = glance_api(url, PROJECT_A)
    with pytest.raises(
        HTTPOverLimit, match=re.escape("allowed image tags. Attempted: 3, Maximum: 2")
    ):
        client.images.create(name="many-tags", tags=["a", "b", "c"])
    image = client.images.create(name="limited", tags=["a", "b"], os_distro="debian", tier="gold")

    with pytest.raises(HTTPOverLimit, match=f"Image tag limit exceeded for image {image.id}"):
        client.image_tags.update(image.id, "c")
    with pytest.raises(openstack.exceptions.HttpException) as too_many:
        sdk(url, PROJECT_A).image.update_image(image.id, zone="eu")
    assert too_many.value.status_code == 413
    assert "allowed image properties. Attempted: 3, Maximum: 2" in str(too_many.value)
    error = openstack_cli(url, keystone).fails("image", "set", "--property", "zone=eu", image.id)
    assert "413" in error
    assert "Attempted: 3, Maximum: 2" in error

    client.image_members.create(image.id, "proj-b")
    with pytest.raises(HTTPOverLimit, match=f"Image member limit exceeded for image {image.id}"):
        client.image_members.create(image.id, "proj-c")

    shown = client.images.get(image.id)
    assert (sorted(shown.tags), shown.tier, "zone" in shown) == (["a", "b"], "gold", False)
    assert memberships(client, image.id) == [("proj-b", "pending")]
