"""GET /v2/images: Glance's filters, visibility, sorting and keyset pages."""

from __future__ import annotations

import io
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import ADMIN, JSON, PROJECT_A, PROJECT_B, created_image, event_count
from tests.integration.conftest import ApiClient as Client

OWNER = {**PROJECT_A, **JSON}
OTHER = {**PROJECT_B, **JSON}


async def create(api: Client, headers: dict[str, str] = OWNER, **body: Any) -> dict[str, Any]:
    return await created_image(api, headers, **body)


async def names(api: Client, query: str, headers: dict[str, str] = OWNER) -> list[str | None]:
    response = await api.get(f"/v2/images?{query}", headers=headers)
    assert response.status == 200, await response.text()
    return [i["name"] for i in (await response.json())["images"]]


async def upload(api: Client, image_id: str, size: int) -> None:
    response = await api.put(
        f"/v2/images/{image_id}/file",
        data=io.BytesIO(b"x" * size),
        headers={**PROJECT_A, "Content-Type": "application/octet-stream"},
    )
    assert response.status == 204


async def test_filters(api: Client) -> None:
    a = await create(api, name="alpha", tags=["x86", "lts"], os_distro="debian")
    b = await create(api, name="beta, gamma", tags=["x86"], os_distro="ubuntu", protected=True)
    c = await create(api, name="delta", disk_format="qcow2")
    await upload(api, a["id"], 10)
    await upload(api, b["id"], 100)

    assert await names(api, "name=alpha") == ["alpha"]
    assert await names(api, 'name=in:alpha,"beta, gamma"') == ["beta, gamma", "alpha"]
    assert await names(api, "status=in:queued") == ["delta"]
    assert await names(api, "disk_format=qcow2") == ["delta"]
    assert await names(api, f"id={c['id']}") == ["delta"]
    assert await names(api, "size_min=50") == ["beta, gamma"]
    assert await names(api, "size_max=50") == ["alpha"]
    assert await names(api, "tag=x86&tag=lts") == ["alpha"]
    assert await names(api, "tag=x86") == ["beta, gamma", "alpha"]
    assert await names(api, "os_distro=ubuntu") == ["beta, gamma"]
    assert await names(api, "protected=true") == ["beta, gamma"]
    assert await names(api, "owner=proj-a&limit=1") == ["delta"]
    checksum = (await (await api.get(f"/v2/images/{a['id']}", headers=OWNER)).json())["checksum"]
    assert await names(api, f"checksum={checksum}") == ["alpha"]
    # Shown timestamps have second precision, as Glance's; compare with whole seconds.
    assert len(await names(api, "created_at=gte:2000-01-01T00:00:00Z")) == 3
    assert await names(api, "created_at=lt:2000-01-01T00:00:00Z") == []
    assert len(await names(api, f"updated_at=lte:{quote('2999-01-01T00:00:00+00:00')}")) == 3


async def test_the_id_filter_takes_several_ids_and_malformed_ones_match_nothing(
    api: Client,
) -> None:
    a = await create(api, name="alpha")
    b = await create(api, name="beta")
    await create(api, name="gamma")
    assert await names(api, f"id=in:{a['id']}") == ["alpha"]
    assert await names(api, f"id=in:{a['id']},{b['id']}") == ["beta", "alpha"]
    assert await names(api, f'id=in:"{a["id"]}",{b["id"]}') == ["beta", "alpha"]
    # Glance's answers: an id that is not a UUID names no image, like an unknown one.
    assert await names(api, f"id=in:nope,{b['id']},{uuid.UUID(int=5)}") == ["beta"]
    assert await names(api, "id=in:nope") == []
    assert await names(api, "id=in:") == []
    assert await names(api, "id=nope") == []


async def test_hidden_images_are_listed_only_when_asked(api: Client) -> None:
    await create(api, name="shown")
    await create(api, name="hidden", os_hidden=True)
    assert await names(api, "") == ["shown"]
    assert await names(api, "os_hidden=true") == ["hidden"]


async def test_visibility_and_member_status(api: Client) -> None:
    await create(api, name="own-private", visibility="private")
    community = await create(api, name="community", visibility="community")
    shared = await create(api, name="shared")
    await create(api, ADMIN, name="public", visibility="public")
    members = f"/v2/images/{shared['id']}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=OWNER)).status == 200

    assert await names(api, "", OTHER) == ["public"]
    assert await names(api, "visibility=community", OTHER) == ["community"]
    assert await names(api, "member_status=pending", OTHER) == ["public", "shared"]
    assert await names(api, "visibility=shared&member_status=all", OTHER) == ["shared"]
    assert sorted(await names(api, "visibility=all&member_status=all", OTHER), key=str) == [
        "community",
        "public",
        "shared",
    ]
    assert await names(api, "visibility=private", OTHER) == []
    # The owner sees its own community image by default; admins see all but others' community.
    assert community["name"] in await names(api, "")
    assert "community" not in await names(api, "", {**ADMIN, **JSON})
    assert "community" in await names(api, "visibility=all", {**ADMIN, **JSON})


async def test_sorting_and_paging_through_any_order(api: Client) -> None:
    for name, size in (("b", 30), ("a", 10), (None, 20), ("c", 10), ("a", 5)):
        image = await create(api, name=name)
        await upload(api, image["id"], size)
    expected = ["a", "a", "b", "c", None]
    assert await names(api, "sort_key=name&sort_dir=asc") == [None, "a", "a", "b", "c"]
    assert await names(api, "sort=size:asc,name:desc") == ["a", "c", "a", None, "b"]
    assert await names(api, "sort_key=name&sort_key=size&sort_dir=desc&sort_dir=asc") == [
        "c",
        "b",
        "a",
        "a",
        None,
    ]
    seen: list[str | None] = []
    link: str | None = "/v2/images?sort=name:asc&limit=2"
    while link:
        page = await (await api.get(link, headers=OWNER)).json()
        seen += [i["name"] for i in page["images"]]
        link = page.get("next")
        assert page["first"] == "/v2/images?sort=name%3Aasc&limit=2"
    assert sorted(seen, key=lambda n: n or "") == sorted(expected, key=lambda n: n or "")
    assert seen == [None, "a", "a", "b", "c"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "sort_key=bogus",
            "Invalid sort key: bogus. It must be one of the following: name, "
            "status, container_format, disk_format, size, id, created_at, updated_at.",
        ),
        ("sort_dir=up", "Invalid sort direction: up"),
        ("sort=name:up", "Invalid sort direction: up"),
        ("sort=name&sort_key=size", "Old and new sorting syntax cannot be combined"),
        (
            "sort_key=name&sort_dir=asc&sort_dir=desc&sort_key=size&sort_key=id",
            "Number of sort dirs does not match the number of sort keys",
        ),
        ("visibility=nope", "Invalid visibility value: nope"),
        ("member_status=maybe", "Invalid status: maybe"),
        ("size_min=x", "Unable to filter on a range with a non-numeric value."),
        ("created_at=gte:notadate", 'Bad "created_at" query filter format. Use ISO 8601'),
        ("created_at=within:2026-01-01T00:00:00Z", "Unable to filter on a unknown operator."),
        ("name=like:al", "Unable to filter by unknown operator 'like'."),
        ('name=in:"open', 'Invalid filter value "open. The quote is not closed.'),
        ("changes-since=2026-01-01", 'The "changes-since" filter is no longer available on v2.'),
        ("os_hidden=maybe", "Invalid value for os_hidden: maybe."),
    ],
)
async def test_bad_parameters_are_400(
    api: Client, container: Container, query: str, message: str
) -> None:
    before = await event_count(container)
    response = await api.get(f"/v2/images?{query}", headers=OWNER)
    assert response.status == 400
    assert (await response.json())["message"].startswith(message)
    assert await event_count(container) == before
