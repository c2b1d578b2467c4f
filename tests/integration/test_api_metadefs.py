"""Metadata definitions (/v2/metadefs/...): namespaces and what they hold, with Glance's
answers; the default rules (admins write, readers read what they may see); refusals change
nothing; the views are the log's (rebuilt, they answer the same)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from infra.bootstrap import Container
from infra.projection_rebuild import rebuild_projections
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    READER_A,
    refused_without_change,
)
from tests.integration.conftest import ApiClient as Client

NS = "/v2/metadefs/namespaces"
ADMIN_A = {"X-Project-Id": "proj-a", "X-User-Id": "ada", "X-Roles": "admin,member,reader"}

FULL = {
    "namespace": "OS::Test::Full",
    "display_name": "Full",
    "description": "Everything at once",
    "visibility": "public",
    "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
    "properties": {"cpu": {"type": "integer", "title": "CPUs", "minimum": 1.7}},
    "objects": [
        {
            "name": "Sizes",
            "required": ["ram"],
            "properties": {"ram": {"type": "integer", "title": "RAM"}},
        }
    ],
    "tags": [{"name": "small"}, {"name": "fast"}],
}

PROPERTY = {"name": "p", "type": "string", "title": "P"}


async def created(api: Client, body: dict[str, Any], headers: dict[str, str] = ADMIN_A) -> Any:
    response = await api.post(NS, json=body, headers=headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def got(api: Client, path: str, headers: dict[str, str] = ADMIN_A, status: int = 200) -> Any:
    response = await api.get(path, headers={**headers, **JSON})
    assert response.status == status, await response.text()
    return await response.json()


async def test_a_namespace_is_created_with_its_contents_and_shown_with_them(api: Client) -> None:
    made = await created(api, FULL)
    assert made["namespace"] == "OS::Test::Full"
    assert made["owner"] == "proj-a"
    assert made["self"] == f"{NS}/OS::Test::Full"
    shown = await got(api, f"{NS}/OS::Test::Full")
    assert shown["visibility"] == "public"
    assert shown["protected"] is False
    assert shown["properties"] == {"cpu": {"type": "integer", "title": "CPUs", "minimum": 1}}
    assert [o["name"] for o in shown["objects"]] == ["Sizes"]
    assert shown["objects"][0]["required"] == ["ram"]
    assert sorted(t["name"] for t in shown["tags"]) == ["fast", "small"]
    assert shown["resource_type_associations"][0]["prefix"] == "hw_"
    image = "resource_type=OS::Glance::Image"
    cpu = await got(api, f"{NS}/OS::Test::Full/properties/hw_cpu?{image}")
    assert cpu["name"] == "cpu"
    await got(api, f"{NS}/OS::Test::Full/properties/cpu?{image}", status=404)
    await got(api, f"{NS}/OS::Test::Full/properties/hw_cpu?resource_type=Nope", status=404)
    prefixed = await got(api, f"{NS}/OS::Test::Full?resource_type=OS::Glance::Image")
    assert list(prefixed["properties"]) == ["hw_cpu"]
    assert prefixed["objects"][0]["required"] == ["hw_ram"]
    types = await got(api, "/v2/metadefs/resource_types")
    assert [t["name"] for t in types["resource_types"]] == ["OS::Glance::Image"]


async def test_contents_are_created_changed_listed_and_deleted(api: Client) -> None:
    await created(api, {"namespace": "n1"})
    one = f"{NS}/n1"
    response = await api.post(
        f"{one}/objects", json={"name": "o1", "description": "d"}, headers=ADMIN_A
    )
    assert response.status == 201
    assert (await response.json())["self"] == f"{one}/objects/o1"
    response = await api.put(f"{one}/objects/o1", json={"name": "o2"}, headers=ADMIN_A)
    assert (await response.json())["name"] == "o2"
    assert [o["name"] for o in (await got(api, f"{one}/objects"))["objects"]] == ["o2"]
    await got(api, f"{one}/objects/o1", status=404)

    prop = {"name": "p1", "type": "string", "title": "P", "enum": ["a", "b"]}
    response = await api.post(f"{one}/properties", json=prop, headers=ADMIN_A)
    assert response.status == 201
    assert await response.json() == prop
    assert await got(api, f"{one}/properties") == {
        "properties": {"p1": {"type": "string", "title": "P", "enum": ["a", "b"]}}
    }
    renamed = {**prop, "name": "p2"}
    response = await api.put(f"{one}/properties/p1", json=renamed, headers=ADMIN_A)
    assert response.status == 200
    assert (await got(api, f"{one}/properties/p2"))["name"] == "p2"

    assert (await api.post(f"{one}/tags/t1", headers=ADMIN_A)).status == 201
    tags = {"tags": [{"name": "t2"}, {"name": "t3"}]}
    response = await api.post(
        f"{one}/tags", json=tags, headers={**ADMIN_A, "X-Openstack-Append": "true"}
    )
    assert response.status == 201
    listed = await got(api, f"{one}/tags?sort_key=name&sort_dir=asc")
    assert listed == {"tags": [{"name": "t1"}, {"name": "t2"}, {"name": "t3"}]}
    response = await api.post(f"{one}/tags", json={"tags": [{"name": "t9"}]}, headers=ADMIN_A)
    assert response.status == 201
    assert await got(api, f"{one}/tags") == {"tags": [{"name": "t9"}]}
    response = await api.put(f"{one}/tags/t9", json={"name": "t8"}, headers=ADMIN_A)
    assert (await response.json())["name"] == "t8"

    association = {"name": "OS::Nova::Flavor", "prefix": "f_", "properties_target": "x"}
    response = await api.post(f"{one}/resource_types", json=association, headers=ADMIN_A)
    assert response.status == 201
    listed = await got(api, f"{one}/resource_types")
    assert listed["resource_type_associations"][0]["properties_target"] == "x"
    flavor = f"{one}/resource_types/OS::Nova::Flavor"
    assert (await api.delete(flavor, headers=ADMIN_A)).status == 204
    assert await got(api, f"{one}/resource_types") == {"resource_type_associations": []}

    for kind in ("objects", "properties", "tags"):
        assert (await api.delete(f"{one}/{kind}", headers=ADMIN_A)).status == 204
    shown = await got(api, one)
    assert not {"objects", "properties", "tags"} & set(shown)
    assert (await api.delete(one, headers=ADMIN_A)).status == 204
    await got(api, one, status=404)


async def test_namespaces_are_listed_by_visibility_and_owner_in_pages(api: Client) -> None:
    await created(api, {"namespace": "a-private"})
    await created(api, {"namespace": "b-public", "visibility": "public"})
    await created(api, {"namespace": "c-other"}, headers=ADMIN)
    assoc = {"resource_type_associations": [{"name": "OS::Cinder::Volume"}]}
    await created(api, {"namespace": "d-typed", **assoc}, headers=ADMIN)

    def names(body: Any) -> list[str]:
        return [n["namespace"] for n in body["namespaces"]]

    listed = await got(api, f"{NS}?sort_key=namespace&sort_dir=asc", headers=READER_A)
    assert names(listed) == ["a-private", "b-public"]
    assert listed["schema"] == "/v2/schemas/metadefs/namespaces"
    everything = await got(api, f"{NS}?sort_key=namespace&sort_dir=asc", headers=ADMIN)
    assert names(everything) == ["a-private", "b-public", "c-other", "d-typed"]
    page = await got(api, f"{NS}?sort_key=namespace&sort_dir=asc&limit=2", headers=ADMIN)
    assert names(page) == ["a-private", "b-public"]
    rest = await got(api, page["next"], headers=ADMIN)
    assert names(rest) == ["c-other", "d-typed"]
    public = await got(api, f"{NS}?visibility=public", headers=ADMIN)
    assert names(public) == ["b-public"]
    typed = await got(api, f"{NS}?resource_types=OS::Cinder::Volume", headers=ADMIN)
    assert names(typed) == ["d-typed"]
    assert typed["namespaces"][0]["resource_type_associations"][0]["name"] == "OS::Cinder::Volume"
    await got(api, f"{NS}/c-other", headers=READER_A, status=404)
    await got(api, f"{NS}?marker=nope", headers=ADMIN, status=404)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "message"),
    [
        ("post", NS, {"namespace": "x"}, PROJECT_A, 403, "You are not authorized"),
        ("post", NS, {"namespace": "taken"}, ADMIN_A, 409, "The metadata definition namespace"),
        ("post", NS, {"description": "no name"}, ADMIN_A, 400, "Provided object does not match"),
        ("post", NS, {"namespace": "x", "self": "/x"}, ADMIN_A, 403, "Attribute 'self'"),
        ("post", NS, {"namespace": "x", "visibility": "shared"}, ADMIN_A, 400, "Provided"),
        ("delete", f"{NS}/taken", None, PROJECT_A, 403, "You are not authorized"),
        ("delete", f"{NS}/taken", None, PROJECT_B, 404, "Namespace taken not found"),
        ("delete", f"{NS}/guarded", None, ADMIN_A, 403, "Metadata definition namespace guarded"),
        ("delete", f"{NS}/guarded/tags", None, ADMIN_A, 403, "Metadata definition namespace"),
        ("put", f"{NS}/taken", {"namespace": "guarded"}, ADMIN_A, 409, "Invalid update"),
        ("post", f"{NS}/taken/objects", {"name": "o"}, ADMIN_A, 409, "A metadata definition obj"),
        ("post", f"{NS}/taken/objects", {"name": "o"}, READER_A, 403, "You are not authorized"),
        ("post", f"{NS}/taken/properties", {"name": "p", "type": "string"}, ADMIN_A, 400, "Prov"),
        ("post", f"{NS}/taken/tags/t", None, ADMIN_A, 409, "A metadata tag with name=t"),
        ("post", f"{NS}/taken/tags", {"tags": [{"name": "u"}, {"name": "u"}]}, ADMIN_A, 409, "A"),
        ("put", f"{NS}/taken/tags/nope", {"name": "x"}, ADMIN_A, 404, "Could not find metadata"),
        ("delete", f"{NS}/taken/objects/nope", None, ADMIN_A, 404, "Could not find metadata"),
        ("post", f"{NS}/nope/objects", {"name": "o"}, ADMIN_A, 404, "Metadata definition names"),
        ("post", f"{NS}/taken/resource_types", {"name": "T"}, ADMIN_A, 409, "The metadata def"),
        # Every other route, its own bad input (a body where none goes, a parameter, a name).
        ("get", "/v2/metadefs/resource_types", {"x": 1}, ADMIN_A, 400, "A body is not expected"),
        ("get", f"{NS}?limit=-1", None, ADMIN_A, 400, "limit param must be positive"),
        ("get", f"{NS}?sort_dir=up", None, ADMIN_A, 400, "Invalid sort direction: up"),
        ("get", f"{NS}?sort_key=size", None, ADMIN_A, 400, "Invalid sort key: size"),
        ("get", f"{NS}?visibility=shared", None, ADMIN_A, 400, "Invalid visibility value"),
        ("get", f"{NS}/nope", None, ADMIN_A, 404, "Metadata definition namespace=nope was not"),
        ("put", f"{NS}/taken", {"namespace": "taken", "visibility": "x"}, ADMIN_A, 400, "Prov"),
        ("delete", f"{NS}/nope", None, ADMIN_A, 404, "Namespace nope not found"),
        ("delete", f"{NS}/guarded/objects", None, ADMIN_A, 403, "Metadata definition namespace"),
        ("delete", f"{NS}/guarded/properties", None, ADMIN_A, 403, "Metadata definition names"),
        ("get", f"{NS}/taken/objects?limit=0", None, ADMIN_A, 400, "limit param must be positive"),
        ("get", f"{NS}/taken/objects/nope", None, ADMIN_A, 404, "Could not find metadata object"),
        ("put", f"{NS}/taken/objects/o", {"name": 5}, ADMIN_A, 400, "Provided object does not"),
        ("put", f"{NS}/taken/objects/nope", {"name": "x"}, ADMIN_A, 404, "Could not find metadata"),
        ("get", f"{NS}/taken/properties", {"x": 1}, ADMIN_A, 400, "A body is not expected"),
        ("get", f"{NS}/taken/properties/nope", None, ADMIN_A, 404, "Could not find property nope"),
        ("put", f"{NS}/taken/properties/nope", PROPERTY, ADMIN_A, 404, "Could not find property"),
        ("put", f"{NS}/taken/properties/nope", {"name": "p"}, ADMIN_A, 400, "Provided object"),
        ("delete", f"{NS}/taken/properties/nope", None, ADMIN_A, 404, "Could not find property"),
        ("get", f"{NS}/taken/tags?limit=x", None, ADMIN_A, 400, "limit param must be an integer"),
        ("get", f"{NS}/taken/tags?marker=nope", None, ADMIN_A, 404, "Could not find metadata tag"),
        ("get", f"{NS}/taken/tags?sort_key=id", None, ADMIN_A, 400, "Invalid sort key: id"),
        ("get", f"{NS}/taken/tags/nope", None, ADMIN_A, 404, "Could not find metadata tag nope"),
        ("post", f"{NS}/taken/tags/{'x' * 81}", None, ADMIN_A, 400, "Provided object does not"),
        ("post", f"{NS}/taken/tags", {"tags": "t"}, ADMIN_A, 400, "Provided object does not"),
        ("post", f"{NS}/taken/tags", {"created_at": "now"}, ADMIN_A, 403, "Attribute 'created_at'"),
        ("put", f"{NS}/taken/tags/t", {"name": 5}, ADMIN_A, 400, "Provided object does not"),
        ("delete", f"{NS}/taken/tags/nope", None, ADMIN_A, 404, "Could not find metadata tag"),
        ("get", f"{NS}/taken/resource_types", {"x": 1}, ADMIN_A, 400, "A body is not expected"),
        ("post", f"{NS}/taken/resource_types", {"prefix": "x_"}, ADMIN_A, 400, "Provided object"),
        ("delete", f"{NS}/taken/resource_types/U", None, ADMIN_A, 404, "Failed to find resource"),
    ],
)
async def test_refusals_change_nothing(
    api: Client,
    container: Container,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    await created(api, {"namespace": "taken", "objects": [{"name": "o"}], "tags": [{"name": "t"}]})
    await api.post(f"{NS}/taken/resource_types", json={"name": "T"}, headers=ADMIN_A)
    await created(api, {"namespace": "guarded", "protected": True, "tags": [{"name": "t"}]})
    send = getattr(api, method)
    await refused_without_change(
        container, lambda: send(path, json=body, headers={**headers, **JSON}), status, message
    )


async def test_every_metadefs_schema_is_served(api: Client) -> None:
    for name in ("namespace", "namespaces", "object", "objects", "property", "properties"):
        assert (await got(api, f"/v2/schemas/metadefs/{name}"))["name"]
    for name in ("tag", "tags", "resource_type", "resource_types"):
        assert (await got(api, f"/v2/schemas/metadefs/{name}"))["name"]


async def test_the_views_rebuilt_from_the_log_answer_the_same(
    api: Client, container: Container
) -> None:
    await created(api, FULL)
    await created(api, {"namespace": "gone", "tags": [{"name": "x"}]})
    await api.put(f"{NS}/OS::Test::Full/tags/fast", json={"name": "quick"}, headers=ADMIN_A)
    await api.delete(f"{NS}/gone", headers=ADMIN_A)
    paths = [NS, f"{NS}/OS::Test::Full", "/v2/metadefs/resource_types", f"{NS}/gone"]
    before = [await (await api.get(p, headers=ADMIN_A)).text() for p in paths]
    await rebuild_projections(container.log)
    after = [await (await api.get(p, headers=ADMIN_A)).text() for p in paths]
    assert after == before


async def test_of_namespaces_taking_one_name_at_once_one_gets_it(api: Client) -> None:
    creates = [{"namespace": "race", "description": str(i)} for i in range(4)]
    answers = await asyncio.gather(*(api.post(NS, json=b, headers=ADMIN_A) for b in creates))
    assert sorted(a.status for a in answers) == [201, 409, 409, 409]
    for name in ("r1", "r2"):
        await created(api, {"namespace": name})
    renames = [
        api.put(f"{NS}/{n}", json={"namespace": "taken"}, headers=ADMIN_A) for n in ("r1", "r2")
    ]
    assert sorted(a.status for a in await asyncio.gather(*renames)) == [200, 409]
    names = sorted(n["namespace"] for n in (await got(api, NS))["namespaces"])
    assert names in (["r1", "race", "taken"], ["r2", "race", "taken"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", NS),
        ("PUT", NS + "/OS::Test::Full"),
        ("POST", NS + "/OS::Test::Full/objects"),
        ("PUT", NS + "/OS::Test::Full/objects/Sizes"),
        ("POST", NS + "/OS::Test::Full/properties"),
        ("PUT", NS + "/OS::Test::Full/properties/cpu"),
        ("POST", NS + "/OS::Test::Full/tags"),
        ("PUT", NS + "/OS::Test::Full/tags/small"),
        ("POST", NS + "/OS::Test::Full/resource_types"),
    ],
)
@pytest.mark.parametrize("body", [[None, None], "text", 7])
async def test_a_body_that_is_not_a_json_object_is_refused(
    api: Client, container: Container, method: str, path: str, body: object
) -> None:
    await created(api, FULL)
    await refused_without_change(
        container,
        lambda: api.request(method, path, json=body, headers={**ADMIN_A, **JSON}),
        400,
        "The request body must be a JSON object.",
    )
