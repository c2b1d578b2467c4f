"""Who may use each route of a metadata definitions namespace (/v2/metadefs/namespaces/{name}
and what it holds), under the default rules, on both databases: another project's private
namespace is not there for the caller (404, on reads and writes alike); a public one the
caller reads, but may not change (403 naming the rule); neither refusal records anything."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import JSON, PROJECT_B, refused_without_change
from tests.integration.conftest import ApiClient as Client
from tests.integration.test_api_metadefs import ADMIN_A, NS, PROPERTY, created

HOLDING = {
    "objects": [{"name": "o"}],
    "properties": {"p": {"type": "string", "title": "P"}},
    "tags": [{"name": "t"}],
    "resource_type_associations": [{"name": "T"}],
}
"""What both namespaces of proj-a hold: the object, property, tag and association the routes
name."""

READS = (
    *("", "/objects", "/objects/o", "/properties", "/properties/p"),
    *("/tags", "/tags/t", "/resource_types"),
)

# Method, path under the namespace, body, and the rule that refuses it on a public namespace.
WRITES: list[tuple[str, str, Any, str]] = [
    ("put", "", {"namespace": None}, "modify_metadef_namespace"),  # named as it is (`body_for`)
    ("delete", "", None, "delete_metadef_namespace"),
    ("delete", "/objects", None, "delete_metadef_namespace"),
    ("delete", "/properties", None, "delete_metadef_namespace"),
    ("delete", "/tags", None, "delete_metadef_namespace"),
    ("post", "/objects", {"name": "o2"}, "add_metadef_object"),
    ("put", "/objects/o", {"name": "o"}, "modify_metadef_object"),
    ("delete", "/objects/o", None, "delete_metadef_object"),
    ("post", "/properties", {**PROPERTY, "name": "p2"}, "add_metadef_property"),
    ("put", "/properties/p", PROPERTY, "modify_metadef_property"),
    ("delete", "/properties/p", None, "remove_metadef_property"),
    ("post", "/tags", {"tags": [{"name": "t2"}]}, "add_metadef_tags"),
    ("post", "/tags/t2", None, "add_metadef_tag"),
    ("put", "/tags/t", {"name": "t3"}, "modify_metadef_tag"),
    ("delete", "/tags/t", None, "delete_metadef_tag"),
    ("post", "/resource_types", {"name": "T2"}, "add_metadef_resource_type_association"),
    ("delete", "/resource_types/T", None, "remove_metadef_resource_type_association"),
]


def missing(method: str, path: str, name: str) -> str:
    """Glance's answer for a namespace that is not there: showing it and its objects' routes
    say it one way, the others another."""
    if (method, path) == ("get", "") or (
        path.startswith("/objects") and (method, path) != ("delete", "/objects")
    ):
        return f"Metadata definition namespace={name} was not found."
    return f"Namespace {name} not found"


@pytest.fixture
async def namespaces(api: Client) -> None:
    await created(api, {"namespace": "secret", **HOLDING})
    await created(api, {"namespace": "open", "visibility": "public", **HOLDING})


def body_for(body: Any, name: str) -> Any:
    """`body`, naming the namespace `name` where it names one."""
    return {**body, "namespace": name} if body and "namespace" in body else body


@pytest.mark.parametrize("path", READS)
async def test_another_projects_namespace_is_read_only_when_public_and_absent_when_private(
    api: Client, container: Container, namespaces: None, path: str
) -> None:
    response = await api.get(f"{NS}/open{path}", headers={**PROJECT_B, **JSON})
    assert response.status == 200, await response.text()
    await refused_without_change(
        container,
        lambda: api.get(f"{NS}/secret{path}", headers={**PROJECT_B, **JSON}),
        404,
        missing("get", path, "secret"),
    )


@pytest.mark.parametrize(("method", "path", "body", "rule"), WRITES)
async def test_another_project_changes_neither_a_public_nor_a_private_namespace(
    api: Client,
    container: Container,
    namespaces: None,
    method: str,
    path: str,
    body: Any,
    rule: str,
) -> None:
    send = getattr(api, method)
    for name, status, message in (
        ("open", 403, f"You are not authorized to complete {rule} action."),
        ("secret", 404, missing(method, path, "secret")),
    ):
        url, given = f"{NS}/{name}{path}", body_for(body, name)
        request = partial(send, url, json=given, headers={**PROJECT_B, **JSON})
        await refused_without_change(container, request, status, message)
    # Both are still there, as they were, for their owner.
    for name in ("open", "secret"):
        shown = await api.get(f"{NS}/{name}", headers={**ADMIN_A, **JSON})
        assert {"objects", "properties", "tags"} <= set(await shown.json())


UNREADING = {"X-Project-Id": "proj-b", "X-User-Id": "uma", "X-Roles": "member"}
"""A caller without the reader role: Glance's default rules let them read no metadefs."""


@pytest.mark.parametrize("path", [NS, "/v2/metadefs/resource_types"])
async def test_the_lists_of_no_namespace_in_particular_are_for_readers(
    api: Client, container: Container, namespaces: None, path: str
) -> None:
    response = await api.get(path, headers={**PROJECT_B, **JSON})
    assert response.status == 200, await response.text()
    request = partial(api.get, path, headers={**UNREADING, **JSON})
    await refused_without_change(container, request, 404, "The resource could not be found.")
