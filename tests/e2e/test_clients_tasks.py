"""Tasks through the clients that read them: glanceclient's tasks calls, `glance task-list` /
`task-show` and `openstack image task list` / `show`, and openstacksdk's tasks and image tasks.

glanceclient asks for an image's tasks only of a server that lists v2.12, which Glance lists
only with several stores configured, and the catalog, as a Glance with one store, does not."""

from __future__ import annotations

import io

import pytest
from glanceclient.exc import HTTPBadRequest, HTTPForbidden

from tests.e2e.conftest import (
    ADMIN,
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    glance_api,
    glance_cli,
    openstack_cli,
    sdk,
)
from tests.waiting import eventually

pytestmark = IGNORE_SDK_DEPRECATIONS

DATA = b"imported as a task\n" * 1024


def imported_image(url: str) -> str:
    """An image of proj-a made active by a glance-direct import: one task."""
    client = glance_api(url, PROJECT_A)
    image = client.images.create(name="task", disk_format="raw", container_format="bare")
    client.images.stage(image.id, io.BytesIO(DATA))
    client.images.image_import(image.id, method="glance-direct")
    # The import ends in the background: the image becomes active, then its task ends.
    admin = glance_api(url, ADMIN)
    eventually(
        lambda: [t.status for t in admin.tasks.list()] == ["success"], "the import's task to end"
    )
    image_id: str = image.id
    return image_id


def test_glanceclient_reads_tasks(embedded_server: str) -> None:
    image_id = imported_image(embedded_server)
    with pytest.raises(HTTPForbidden):
        list(glance_api(embedded_server, PROJECT_A).tasks.list())

    admin = glance_api(embedded_server, ADMIN)
    [task] = list(admin.tasks.list(filters={"status": "success"}, page_size=1))
    assert (task.type, task.owner) == ("api_image_import", "proj-a")
    shown = admin.tasks.get(task.id)
    assert (shown.status, shown.result) == ("success", {"image_id": image_id})
    with pytest.raises(HTTPBadRequest, match="File based imports are not allowed"):
        admin.tasks.create(
            type="import",
            input={
                "import_from": "file:///etc/passwd",
                "import_from_format": "raw",
                "image_properties": {},
            },
        )


def test_openstacksdk_reads_tasks(embedded_server: str) -> None:
    image_id = imported_image(embedded_server)
    [image_task] = list(sdk(embedded_server, PROJECT_A).image.image_tasks(image_id))
    assert (image_task.type, image_task.status) == ("api_image_import", "success")

    conn = sdk(embedded_server, ADMIN)
    [task] = list(conn.image.tasks())
    assert task.id == image_task.id
    shown = conn.image.get_task(task.id)
    assert (shown.status, shown.result, shown.owner_id) == (
        "success",
        {"image_id": image_id},
        "proj-a",
    )
    assert conn.image.get_tasks_schema().properties["tasks"]["items"]["name"] == "task"


def test_the_command_lines_list_and_show_tasks(catalog: str, keystone: str) -> None:
    image_id = imported_image(catalog)
    glance = glance_cli(catalog)
    listing = glance("task-list", "--status", "success")
    [task_id] = [line.split("|")[1].strip() for line in listing.splitlines() if "proj-a" in line]
    assert "api_image_import" in glance("task-show", task_id)

    osc = openstack_cli(catalog, keystone)
    [listed] = osc.json("image", "task", "list", "--status", "success")
    assert (listed["ID"], listed["Status"]) == (task_id, "success")
    shown = osc.json("image", "task", "show", task_id)
    assert (shown["status"], shown["result"]) == ("success", {"image_id": image_id})
