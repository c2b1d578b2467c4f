"""PATCH documents as clients that send the difference between two documents write them.

openstacksdk (and glanceclient's `remove_props`) compute a PATCH with `jsonpatch` from the image
as they read it to the image as they want it. That difference removes `/stores` (which they
read as a custom property), moves a value when a removed key and an added one hold the same
string, and addresses tags one by one (`/tags/0`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap import Container
from tests.integration.conftest import (
    ApiBuilder,
    event_count,
    refused_without_change,
    settled,
    uploaded_image_id,
)
from tests.integration.conftest import ApiClient as Client
from tests.integration.conftest import created_image_id as new_image
from tests.integration.test_api_patch import HEADERS, patch
from tests.integration.test_api_stores import two_store_settings


async def patched(api: Client, image_id: str, body: Any) -> dict[str, Any]:
    response = await patch(api, image_id, body)
    assert response.status == 200, await response.text()
    shown: dict[str, Any] = await response.json()
    assert shown == await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    return shown


# -- /stores, as read -------------------------------------------------------------------------


async def test_removing_stores_changes_only_the_rest(api: Client, container: Container) -> None:
    """openstacksdk's `update_image(image, some_prop='x')` on any image that has data."""
    image_id = await uploaded_image_id(api, b"data", k="v")
    shown = await patched(
        api,
        image_id,
        [
            {"op": "replace", "path": "/k", "value": "w"},
            {"op": "remove", "path": "/stores"},
        ],
    )
    assert (shown["k"], shown["stores"]) == ("w", "file")

    before = await event_count(container)
    for unchanged in (
        [{"op": "remove", "path": "/stores"}],
        [{"op": "replace", "path": "/stores", "value": "file"}],
        [{"op": "add", "path": "/stores", "value": "file"}],
    ):
        assert (await patched(api, image_id, unchanged))["stores"] == "file"
    assert await event_count(container) == before


async def test_stores_of_several_copies_written_back(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> None:
    api, _ = await api_for(two_store_settings(tmp_path, sqlite_url))
    image_id = await uploaded_image_id(api, b"data", store="fast")
    copied = await api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "copy-image"}, "stores": ["cheap"]},
        headers={"X-Roles": "admin,member,reader", "X-Project-Id": "admin-proj"},
    )
    assert copied.status == 202, await copied.text()
    await settled(api)
    shown = await patched(
        api,
        image_id,
        [
            {"op": "replace", "path": "/stores", "value": "fast,cheap"},
            {"op": "add", "path": "/k", "value": "v"},
            {"op": "remove", "path": "/stores"},
        ],
    )
    assert (shown["k"], shown["stores"]) == ("v", "fast,cheap")


async def test_an_imports_progress_written_back_changes_nothing(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> None:
    """openstacksdk's `update_image` after an import: the `os_glance_*` progress it read."""
    api, container = await api_for(two_store_settings(tmp_path, sqlite_url))
    image_id = await uploaded_image_id(api, b"data")
    copied = await api.post(
        f"/v2/images/{image_id}/import",
        json={"method": {"name": "copy-image"}, "all_stores": True},
        headers={"X-Roles": "admin,member,reader", "X-Project-Id": "admin-proj"},
    )
    assert copied.status == 202, await copied.text()
    await settled(api)
    before = await event_count(container)
    for unchanged in (
        [{"op": "remove", "path": "/os_glance_failed_import"}],
        [{"op": "replace", "path": "/os_glance_importing_to_stores", "value": ""}],
    ):
        shown = await patched(api, image_id, unchanged)
        assert (shown["os_glance_importing_to_stores"], shown["os_glance_failed_import"]) == (
            "",
            "",
        )
    assert await event_count(container) == before
    for changed in (
        [{"op": "replace", "path": "/os_glance_failed_import", "value": "fast"}],
        [{"op": "add", "path": "/os_glance_import_task", "value": "mine"}],
    ):
        await refused_without_change(
            container,
            lambda changed=changed: patch(api, image_id, changed),  # type: ignore[misc]
            403,
            f"Attribute '{changed[0]['path'][1:]}' is reserved.",
        )


async def test_an_image_without_data_has_no_stores_to_remove(api: Client) -> None:
    image_id = await new_image(api, k="v")
    shown = await patched(
        api, image_id, [{"op": "remove", "path": "/stores"}, {"op": "remove", "path": "/k"}]
    )
    assert "stores" not in shown
    assert "k" not in shown


@pytest.mark.parametrize("data", [None, b"data"])
@pytest.mark.parametrize("op", ["add", "replace"])
@pytest.mark.parametrize("value", ["elsewhere", "file,elsewhere"])
async def test_stores_cannot_be_set(
    api: Client, container: Container, data: bytes | None, op: str, value: str
) -> None:
    """Glance keeps such a value as a custom property, which then claims stores on an image
    without data; the catalog says what the data's stores are."""
    image_id = await (uploaded_image_id(api, data) if data else new_image(api))
    await refused_without_change(
        container,
        lambda: patch(api, image_id, [{"op": op, "path": "/stores", "value": value}]),
        403,
        "Attribute 'stores' is read-only.",
    )
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert shown.get("stores") == ("file" if data else None)


# -- move and copy ---------------------------------------------------------------------------


async def test_move_and_copy_between_custom_properties(api: Client) -> None:
    image_id = await new_image(api, a="1", b="2")
    shown = await patched(
        api,
        image_id,
        [
            {"op": "move", "from": "/a", "path": "/c"},
            {"op": "copy", "from": "/b", "path": "/d"},
            {"op": "move", "from": "/b", "path": "/a"},
        ],
    )
    assert {k: shown.get(k) for k in "abcd"} == {"a": "2", "b": None, "c": "1", "d": "2"}


async def test_a_value_equal_to_the_stores_moves_from_stores(api: Client) -> None:
    """`update_image(image, backend='file')`: jsonpatch moves the value from `/stores`."""
    image_id = await uploaded_image_id(api, b"data", old="x")
    shown = await patched(
        api,
        image_id,
        [{"op": "remove", "path": "/old"}, {"op": "move", "from": "/stores", "path": "/backend"}],
    )
    assert (shown["backend"], shown["stores"]) == ("file", "file")
    assert "old" not in shown


async def test_move_and_copy_between_tags_and_properties(api: Client) -> None:
    image_id = await new_image(api, k="from-k", tags=["a", "b", "c"])
    shown = await patched(
        api,
        image_id,
        [
            {"op": "move", "from": "/tags/2", "path": "/tags/0"},
            {"op": "copy", "from": "/tags/1", "path": "/t"},
            {"op": "move", "from": "/k", "path": "/tags/-"},
        ],
    )
    assert sorted(shown["tags"]) == ["a", "b", "c", "from-k"]
    assert shown["t"] == "a"
    assert "k" not in shown


# -- single tags ---------------------------------------------------------------------------


async def test_tags_one_by_one_in_the_order_shown(api: Client) -> None:
    """openstacksdk's `update_image(image, tags=[...])` sends the list's difference."""
    image_id = await new_image(api, tags=["b", "a"])
    shown = await patched(
        api,
        image_id,
        [
            {"op": "replace", "path": "/tags/0", "value": "z"},
            {"op": "add", "path": "/tags/1", "value": "m"},
            {"op": "remove", "path": "/tags/2"},
            {"op": "add", "path": "/tags/-", "value": "q"},
        ],
    )
    assert shown["tags"] == ["m", "q", "z"]


# -- refusals: each changes nothing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ([{"op": "move", "path": "/x"}], 400, "Unable to find 'from' in JSON Schema change"),
        ([{"op": "copy", "from": "k", "path": "/x"}], 400, "Pointer `k` does not start"),
        (
            [{"op": "move", "from": "/nothere", "path": "/x"}],
            409,
            "Property nothere does not exist.",
        ),
        ([{"op": "move", "from": "/stores", "path": "/x"}], 409, "Property stores does not exist."),
        ([{"op": "move", "from": "/name", "path": "/x"}], 400, "Operation `move` cannot use /name"),
        ([{"op": "copy", "from": "/k", "path": "/name"}], 400, "Operation `copy` cannot use /name"),
        ([{"op": "copy", "from": "/k", "path": "/tags"}], 400, "Operation `copy` cannot use /tags"),
        ([{"op": "copy", "from": "/k", "path": "/stores"}], 400, "cannot use /stores"),
        (
            [{"op": "copy", "from": "/status", "path": "/x"}],
            403,
            "Attribute 'status' is read-only.",
        ),
        ([{"op": "move", "from": "/os_glance_x", "path": "/x"}], 403, "is reserved."),
        ([{"op": "copy", "from": "/long", "path": "/tags/0"}], 400, "A tag is a string of at most"),
        ([{"op": "remove", "path": "/tags/2"}], 409, "There is no tag at /tags/2."),
        ([{"op": "replace", "path": "/tags/-", "value": "x"}], 409, "There is no tag at /tags/-."),
        ([{"op": "move", "from": "/tags/5", "path": "/x"}], 409, "There is no tag at /tags/5."),
        ([{"op": "add", "path": "/tags/3", "value": "x"}], 409, "Cannot add a tag at /tags/3"),
        ([{"op": "add", "path": "/tags/01", "value": "x"}], 400, "Invalid JSON pointer for this"),
        ([{"op": "add", "path": "/tags/x", "value": "x"}], 400, "Invalid JSON pointer for this"),
        ([{"op": "add", "path": "/tags/0/x", "value": "x"}], 400, "Invalid JSON pointer for this"),
        ([{"op": "add", "path": "/name/0", "value": "x"}], 400, "Invalid JSON pointer for this"),
        ([{"op": "add", "path": "/tags/0", "value": 5}], 400, "5 is not of type 'string'"),
        ([{"op": "add", "path": "/tags/0", "value": "t" * 256}], 400, "is too long"),
        ([{"op": "add", "path": "/stores", "value": ["file"]}], 400, "is not of type 'string'"),
    ],
)
async def test_refusals_change_nothing(
    api: Client, container: Container, body: Any, status: int, message: str
) -> None:
    image_id = await new_image(api, k="v", long="l" * 256, tags=["a", "b"])
    await refused_without_change(
        container, lambda: patch(api, image_id, body), status, message, anywhere=True
    )
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert (shown["k"], sorted(shown["tags"])) == ("v", ["a", "b"])
