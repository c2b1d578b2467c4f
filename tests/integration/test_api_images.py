"""The Image API core over real adapters: create, show, list, delete, upload, download."""

from __future__ import annotations

import hashlib
import io
import uuid

from infra.bootstrap import Container
from tests.integration.conftest import ADMIN, JSON, PROJECT_A, PROJECT_B, READER_A, event_count
from tests.integration.conftest import ApiClient as Client
from tests.integration.conftest import created_image as create


async def upload(
    api: Client, image_id: str, data: bytes, headers: dict[str, str] = PROJECT_A
) -> int:
    response = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(data),
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    return response.status


async def test_create_answers_201_with_location_and_glance_defaults(api: Client) -> None:
    response = await api.post(
        "/v2/images",
        json={"name": "cirros", "tags": ["a", "a"], "os_distro": "cirros"},
        headers=PROJECT_A,
    )
    assert response.status == 201
    body = await response.json()
    # Absolute, as Glance's: on the address the client used.
    assert response.headers["Location"] == str(api.make_url(f"/v2/images/{body['id']}"))
    assert response.headers["x-openstack-request-id"].startswith("req-")
    assert (
        response.headers["OpenStack-image-import-methods"]
        == "glance-direct,web-download,copy-image"
    )
    assert body["status"] == "queued"
    assert body["visibility"] == "shared"
    assert body["owner"] == "proj-a"
    assert body["tags"] == ["a"]
    assert body["os_distro"] == "cirros"
    assert (body["size"], body["checksum"], body["min_ram"], body["protected"]) == (
        None,
        None,
        0,
        False,
    )
    assert body["self"] == f"/v2/images/{body['id']}"
    assert body["file"] == f"/v2/images/{body['id']}/file"
    assert body["created_at"].endswith("Z")


async def test_the_create_answer_is_what_show_answers_afterwards(api: Client) -> None:
    """Create answers from the row its projection wrote; reading that row back must agree."""
    created = await create(
        api,
        name="full",
        tags=["b", "a"],
        min_ram=512,
        min_disk=2,
        protected=True,
        os_hidden=True,
        visibility="private",
        hw_disk_bus="scsi",
        os_distro="debian",
    )
    shown = await api.get(f"/v2/images/{created['id']}", headers=PROJECT_A)
    assert await shown.json() == created


async def test_a_client_given_id_is_kept_and_never_reused(
    api: Client, container: Container
) -> None:
    image_id = str(uuid.uuid4())
    await create(api, id=image_id)
    assert (await api.delete(f"/v2/images/{image_id}", headers=PROJECT_A)).status == 204
    before = await event_count(container)
    again = await api.post("/v2/images", json={"id": image_id}, headers={**PROJECT_A, **JSON})
    assert again.status == 409
    assert (await again.json())["message"].startswith(f"Image ID {image_id} already exists!")
    assert await event_count(container) == before


async def test_upload_then_download_gives_the_same_bytes_and_hashes(api: Client) -> None:
    data = bytes(range(256)) * 4096 + b"tail"
    image = await create(api, name="data")
    assert await upload(api, image["id"], data) == 204
    shown = await (await api.get(f"/v2/images/{image['id']}", headers=PROJECT_A)).json()
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    download = await api.get(f"/v2/images/{image['id']}/file", headers=PROJECT_A)
    assert download.status == 200
    assert download.headers["Content-MD5"] == shown["checksum"]
    assert await download.read() == data


async def test_download_of_an_image_without_data_is_204(api: Client) -> None:
    image = await create(api)
    response = await api.get(f"/v2/images/{image['id']}/file", headers=PROJECT_A)
    assert response.status == 204


async def test_upload_to_an_active_image_is_409(api: Client, container: Container) -> None:
    image = await create(api)
    assert await upload(api, image["id"], b"one") == 204
    before = await event_count(container)
    response = await api.put(
        f"/v2/images/{image['id']}/file",
        data=b"two",
        headers={**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"},
    )
    assert response.status == 409
    assert (await response.json())["message"].startswith(
        "Image status transition from active to saving is not allowed"
    )
    assert await event_count(container) == before


async def test_delete_removes_the_image_and_its_bytes(api: Client, container: Container) -> None:
    image = await create(api)
    assert await upload(api, image["id"], b"bytes") == 204
    from tests.integration.conftest import stored_files

    assert len(stored_files(container)) == 1
    assert (await api.delete(f"/v2/images/{image['id']}", headers=PROJECT_A)).status == 204
    assert stored_files(container) == []
    gone = await api.get(f"/v2/images/{image['id']}", headers={**PROJECT_A, **JSON})
    assert gone.status == 404
    again = await api.delete(f"/v2/images/{image['id']}", headers={**PROJECT_A, **JSON})
    assert again.status == 404
    assert (await again.json())["message"].startswith(
        f"Failed to find image {image['id']} to delete"
    )


async def test_a_protected_image_cannot_be_deleted(api: Client, container: Container) -> None:
    image = await create(api, protected=True)
    before = await event_count(container)
    response = await api.delete(f"/v2/images/{image['id']}", headers={**PROJECT_A, **JSON})
    assert response.status == 403
    assert (await response.json())["message"].startswith(
        f"Image {image['id']} is protected and cannot be deleted."
    )
    assert await event_count(container) == before


async def test_list_pages_newest_first_with_next_links(api: Client) -> None:
    ids = [(await create(api, name=f"img-{i}"))["id"] for i in range(5)]
    first = await (await api.get("/v2/images?limit=2", headers=PROJECT_A)).json()
    assert [i["id"] for i in first["images"]] == ids[::-1][:2]
    assert first["first"] == "/v2/images?limit=2"
    assert first["schema"] == "/v2/schemas/images"
    seen = [i["id"] for i in first["images"]]
    link = first["next"]
    while link:
        page = await (await api.get(link, headers=PROJECT_A)).json()
        seen += [i["id"] for i in page["images"]]
        link = page.get("next")
    assert seen == ids[::-1]


async def test_list_filters_by_name_and_status(api: Client) -> None:
    a = await create(api, name="alpha")
    await create(api, name="beta")
    assert await upload(api, a["id"], b"x") == 204
    by_name = await (await api.get("/v2/images?name=alpha", headers=PROJECT_A)).json()
    assert [i["id"] for i in by_name["images"]] == [a["id"]]
    queued = await (await api.get("/v2/images?status=queued", headers=PROJECT_A)).json()
    assert [i["name"] for i in queued["images"]] == ["beta"]


async def test_other_projects_do_not_see_a_shared_image_they_are_not_members_of(
    api: Client,
) -> None:
    image = await create(api)
    other = await api.get(f"/v2/images/{image['id']}", headers={**PROJECT_B, **JSON})
    assert other.status == 404
    listed = await (await api.get("/v2/images", headers=PROJECT_B)).json()
    assert listed["images"] == []
    admin = await api.get(f"/v2/images/{image['id']}", headers=ADMIN)
    assert admin.status == 200


async def test_a_public_image_is_seen_by_everyone(api: Client) -> None:
    image = await create(api, headers=ADMIN, visibility="public")
    other = await api.get(f"/v2/images/{image['id']}", headers=PROJECT_B)
    assert other.status == 200
    listed = await (await api.get("/v2/images", headers=PROJECT_B)).json()
    assert [i["id"] for i in listed["images"]] == [image["id"]]


async def test_a_reader_sees_but_cannot_create(api: Client, container: Container) -> None:
    before = await event_count(container)
    response = await api.post("/v2/images", json={}, headers={**READER_A, **JSON})
    assert response.status == 403
    assert (await response.json())["message"].startswith(
        "You are not authorized to complete add_image action."
    )
    assert await event_count(container) == before


async def test_another_project_cannot_delete_or_upload(api: Client, container: Container) -> None:
    image = await create(api, headers=ADMIN, visibility="public")
    before = await event_count(container)
    delete = await api.delete(f"/v2/images/{image['id']}", headers={**PROJECT_B, **JSON})
    assert delete.status == 403
    assert await upload(api, image["id"], b"x", PROJECT_B) == 403
    assert await event_count(container) == before


async def test_without_identity_headers_noauth_acts_as_the_default_project(api: Client) -> None:
    response = await api.post("/v2/images", json={"name": "anon"})
    assert response.status == 201
    assert (await response.json())["owner"] == "default"


async def test_roles_are_accepted_percent_encoded(api: Client) -> None:
    headers = {"X-Project-Id": "proj-a", "X-User-Id": "alice", "X-Roles": "member%2Creader"}
    assert (await api.post("/v2/images", json={}, headers=headers)).status == 201
