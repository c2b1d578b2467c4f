"""Tasks: every import runs as one, kept current and shown as Glance shows it (the tasks API for
admins, an image's tasks for whoever may see the image), and forgotten once expired.

The tasks API's own import (`POST /v2/tasks`, type `import`) creates an image from data at a
URL; every bad request is refused with Glance's status and words, and leaves nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.commands.registry import CommandBus
from catalog.projections.tasks import forget_expired
from infra.bootstrap import Container
from infra.http.app import create_app
from infra.settings import PolicySettings, TaskSettings
from infra.task_expiry import forget_expired_tasks
from tests.http_origin import DATA, Origin, serving
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    READER_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
    refused_without_change,
    settled,
)
from tests.integration.delayed_delete import FixedClock

SCHEMAS = Path(__file__).parents[2] / "infra" / "http" / "schemas"
OCTETS = {**PROJECT_A, "Content-Type": "application/octet-stream"}
AS_A = {**PROJECT_A, **JSON}
STAGED = b"staged bytes " * 100


async def imported_image_id(api: ApiClient, data: bytes = STAGED) -> str:
    """An image made active by a glance-direct import (one `api_image_import` task)."""
    image_id = await created_image_id(api)
    put = await api.put(f"/v2/images/{image_id}/stage", data=io.BytesIO(data), headers=OCTETS)
    assert put.status == 204, await put.text()
    body = {"method": {"name": "glance-direct"}}
    response = await api.post(f"/v2/images/{image_id}/import", json=body, headers=PROJECT_A)
    assert response.status == 202, await response.text()
    await settled(api)
    return image_id


async def tasks_of(api: ApiClient, image_id: str, headers: dict[str, str] = PROJECT_A) -> Any:
    response = await api.get(f"/v2/images/{image_id}/tasks", headers={**headers, **JSON})
    assert response.status == 200, await response.text()
    return (await response.json())["tasks"]


async def listed(api: ApiClient, query: str = "") -> Any:
    response = await api.get(f"/v2/tasks{query}", headers={**ADMIN, **JSON})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_an_import_is_a_task_the_images_owner_reads(api: ApiClient) -> None:
    image_id = await imported_image_id(api)
    [task] = await tasks_of(api, image_id)
    # Glance's rows, as its image-tasks call lists them.
    assert set(task) == {
        "id",
        "type",
        "status",
        "owner",
        "expires_at",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted",
        "image_id",
        "request_id",
        "user_id",
        "input",
        "result",
        "message",
    }
    assert (task["type"], task["status"], task["owner"], task["user_id"]) == (
        "api_image_import",
        "success",
        "proj-a",
        "alice",
    )
    assert task["input"] == {
        "image_id": image_id,
        "import_req": {"method": {"name": "glance-direct"}},
        "backend": ["file"],
    }
    assert (task["result"], task["message"]) == ({"image_id": image_id}, "Copied 0 MiB")
    assert (task["deleted"], task["deleted_at"]) == (False, None)
    assert task["request_id"].startswith("req-")
    # Kept 48 hours once it ended (Glance's task_time_to_live).
    ended, expires = (datetime.fromisoformat(task[k]) for k in ("updated_at", "expires_at"))
    assert expires - ended == timedelta(hours=48)


async def test_an_images_tasks_are_for_whoever_may_see_the_image(api: ApiClient) -> None:
    image_id = await imported_image_id(api)
    assert len(await tasks_of(api, image_id, ADMIN)) == 1
    await status_of_get(api, f"/v2/images/{image_id}/tasks", PROJECT_B, 404)
    await status_of_get(api, f"/v2/images/{uuid.uuid4()}/tasks", PROJECT_A, 404)
    await status_of_get(api, "/v2/images/not-an-id/tasks", PROJECT_A, 404)
    # Shared with proj-b: proj-b sees the owner's tasks too, as in Glance.
    members = f"/v2/images/{image_id}/members"
    assert (await api.post(members, json={"member": "proj-b"}, headers=PROJECT_A)).status == 200
    assert [t["owner"] for t in await tasks_of(api, image_id, PROJECT_B)] == ["proj-a"]


async def status_of_get(api: ApiClient, path: str, headers: dict[str, str], status: int) -> None:
    response = await api.get(path, headers={**headers, **JSON})
    assert response.status == status, await response.text()


async def test_a_refused_import_fails_its_task_with_the_reason(api: ApiClient) -> None:
    image_id = await created_image_id(api, disk_format="qcow2")
    put = await api.put(f"/v2/images/{image_id}/stage", data=io.BytesIO(STAGED), headers=OCTETS)
    assert put.status == 204
    body = {"method": {"name": "glance-direct"}}
    response = await api.post(f"/v2/images/{image_id}/import", json=body, headers=AS_A)
    assert response.status == 415
    [task] = await tasks_of(api, image_id)
    assert (task["status"], task["result"]) == ("failure", None)
    assert task["message"] == "Image disk_format qcow2 does not match stream data raw"


async def test_an_import_refused_before_it_starts_leaves_no_task(
    api: ApiClient, container: Container
) -> None:
    image_id = await created_image_id(api)  # nothing staged: 409
    await refused_without_change(
        container,
        lambda: api.post(
            f"/v2/images/{image_id}/import",
            json={"method": {"name": "glance-direct"}},
            headers=AS_A,
        ),
        409,
        "",
    )
    assert await tasks_of(api, image_id) == []


async def test_the_tasks_api_shows_a_task_whole_and_lists_it_as_a_stub(api: ApiClient) -> None:
    image_id = await imported_image_id(api)
    [row] = await tasks_of(api, image_id)
    response = await api.get(f"/v2/tasks/{row['id']}", headers={**ADMIN, **JSON})
    assert response.status == 200
    task = await response.json()
    assert task["self"] == f"/v2/tasks/{row['id']}"
    assert task["schema"] == "/v2/schemas/task"
    assert (task["status"], task["input"], task["result"]) == (
        "success",
        row["input"],
        {"image_id": image_id},
    )
    assert (task["image_id"], task["user_id"]) == (image_id, "alice")
    assert task["created_at"].endswith("Z")
    assert task["expires_at"].endswith("Z")

    page = await listed(api)
    assert page["schema"] == "/v2/schemas/tasks"
    assert page["first"] == "/v2/tasks"
    [stub] = page["tasks"]
    assert stub["id"] == row["id"]
    assert not {"input", "result", "message"} & set(stub)


async def test_the_task_schemas_are_glances(api: ApiClient) -> None:
    for name in ("task", "tasks"):
        response = await api.get(f"/v2/schemas/{name}", headers=PROJECT_A)
        assert response.status == 200
        assert await response.json() == json.loads((SCHEMAS / f"{name}.json").read_text())


async def test_lists_filter_sort_and_page(api: ApiClient) -> None:
    imported = [await imported_image_id(api) for _ in range(3)]
    failed = await created_image_id(api, disk_format="qcow2")
    await api.put(f"/v2/images/{failed}/stage", data=io.BytesIO(STAGED), headers=OCTETS)
    body = {"method": {"name": "glance-direct"}}
    await api.post(f"/v2/images/{failed}/import", json=body, headers=PROJECT_A)

    newest_first = [t["id"] for t in (await listed(api))["tasks"]]
    assert len(newest_first) == 4
    oldest_first = [t["id"] for t in (await listed(api, "?sort_dir=asc"))["tasks"]]
    assert oldest_first == newest_first[::-1]
    assert [t["status"] for t in (await listed(api, "?status=failure"))["tasks"]] == ["failure"]
    assert len((await listed(api, "?type=api_image_import&status=success"))["tasks"]) == 3
    assert (await listed(api, "?type=location_import"))["tasks"] == []
    by_image = (await listed(api, f"?image_id={imported[0]}"))["tasks"]
    assert [t["id"] for t in by_image] == [t["id"] for t in await tasks_of(api, imported[0])]

    first = await listed(api, "?limit=3")
    assert [t["id"] for t in first["tasks"]] == newest_first[:3]
    assert first["next"] == f"/v2/tasks?limit=3&marker={newest_first[2]}"
    rest = await listed(api, first["next"].removeprefix("/v2/tasks"))
    assert [t["id"] for t in rest["tasks"]] == newest_first[3:]
    assert "next" not in rest
    by_status = [t["status"] for t in (await listed(api, "?sort_key=status"))["tasks"]]
    assert by_status == ["success"] * 3 + ["failure"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?status=done", "Invalid status value: done"),
        ("?type=convert", "Invalid type value: convert"),
        ("?sort_key=input", "Sort key supplied was not valid."),
        ("?sort_dir=up", "Invalid sort direction: up"),
        ("?limit=-1", "limit param must be positive"),
        ("?marker=nope", "Invalid marker format"),
        (f"?marker={uuid.UUID(int=7)}", f"Task with the given id {uuid.UUID(int=7)} was not"),
    ],
)
async def test_bad_list_parameters_are_400(
    api: ApiClient, container: Container, query: str, message: str
) -> None:
    await refused_without_change(
        container, lambda: api.get(f"/v2/tasks{query}", headers={**ADMIN, **JSON}), 400, message
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/tasks"),
        ("GET", "/v2/tasks/{id}"),
        ("POST", "/v2/tasks"),
        ("DELETE", "/v2/tasks/{id}"),
    ],
)
async def test_the_tasks_api_is_for_admins(
    api: ApiClient, container: Container, method: str, path: str
) -> None:
    image_id = await imported_image_id(api)
    [task] = await tasks_of(api, image_id)
    body = {"type": "import", "input": {}}
    await refused_without_change(
        container,
        lambda: api.request(
            method, path.format(id=task["id"]), json=body, headers={**PROJECT_A, **JSON}
        ),
        403,
        "You are not authorized to complete tasks_api_access action.",
    )


@pytest.fixture
async def opened_by_policy(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    """The tasks API opened to readers by an operator's policy file, reading a task whole to
    members, creating tasks to admins."""
    path = tmp_path / "policy.yaml"
    path.write_text(
        'tasks_api_access: "role:reader"\n'
        'get_task: "role:member"\n'
        'add_task: "rule:context_is_admin"\n'
    )
    policy = PolicySettings(policy_file=path)
    return await api_for(embedded_settings(tmp_path, database_url, policy=policy))


async def test_callers_given_the_tasks_api_see_their_own_projects_tasks_only(
    opened_by_policy: tuple[ApiClient, Container],
) -> None:
    api, container = opened_by_policy
    image_id = await imported_image_id(api)
    [task] = await tasks_of(api, image_id)
    path = f"/v2/tasks/{task['id']}"

    async def listed_for(headers: dict[str, str]) -> list[str]:
        response = await api.get("/v2/tasks", headers={**headers, **JSON})
        assert response.status == 200, await response.text()
        return [t["id"] for t in (await response.json())["tasks"]]

    assert await listed_for(PROJECT_A) == [task["id"]]
    await status_of_get(api, path, PROJECT_A, 200)
    # Another project's task is not there for proj-b: not listed, not found, not a marker.
    assert await listed_for(PROJECT_B) == []
    as_b = {**PROJECT_B, **JSON}
    await refused_without_change(
        container, lambda: api.get(path, headers=as_b), 404, f"Could not find task {task['id']}"
    )
    await refused_without_change(
        container,
        lambda: api.get(f"/v2/tasks?marker={task['id']}", headers=as_b),
        400,
        f"Task with the given id {task['id']} was not found",
    )
    # A reader of the project lists it, but may not read it whole.
    assert await listed_for(READER_A) == [task["id"]]
    await refused_without_change(
        container,
        lambda: api.get(path, headers={**READER_A, **JSON}),
        403,
        "You are not authorized to complete get_task action.",
    )
    # Members may read tasks here, not create them.
    await refused_without_change(
        container,
        lambda: api.post("/v2/tasks", json=import_task("http://example.com/x"), headers=as_b),
        403,
        "You are not authorized to complete add_task action.",
    )
    assert await listed_for(ADMIN) == [task["id"]]


async def test_unknown_tasks_are_404_and_tasks_are_never_deleted(
    api: ApiClient, container: Container
) -> None:
    for task_id in (str(uuid.uuid4()), "not-a-task"):
        path = f"/v2/tasks/{task_id}"
        await refused_without_change(
            container,
            lambda path=path: api.get(path, headers={**ADMIN, **JSON}),  # type: ignore[misc]
            404,
            f"Could not find task {task_id}",
        )
    image_id = await imported_image_id(api)
    [task] = await tasks_of(api, image_id)
    # Not a task id either: an image's id names no task.
    response = await api.get(f"/v2/tasks/{image_id}", headers={**ADMIN, **JSON})
    assert response.status == 404
    response = await refused_without_change(
        container,
        lambda: api.delete(f"/v2/tasks/{task['id']}", headers={**ADMIN, **JSON}),
        405,
        "This operation is currently not permitted on Glance Tasks.",
    )
    assert response.headers["Allow"] == "GET"


async def test_expired_tasks_are_gone_for_readers_then_forgotten(
    api: ApiClient, container: Container, aiohttp_client: Any
) -> None:
    image_id = await imported_image_id(api)
    [task] = await tasks_of(api, image_id)
    expires_at = datetime.fromisoformat(task["expires_at"]).replace(tzinfo=UTC)
    # The same server, as it answers once the task expired.
    context = replace(container.bus.context, clock=FixedClock(expires_at + timedelta(seconds=1)))
    later: ApiClient = await aiohttp_client(create_app(replace(container, bus=CommandBus(context))))
    assert await tasks_of(later, image_id) == []
    assert (await listed(later))["tasks"] == []
    response = await later.get(f"/v2/tasks/{task['id']}", headers={**ADMIN, **JSON})
    assert response.status == 404
    # Still there for now, then its row goes; its events stay in the log.
    assert len(await tasks_of(api, image_id)) == 1
    assert await forget_expired_tasks(container) == 0
    events = await event_count(container, task["id"])
    assert events == 3  # created, started, succeeded
    assert await container.database.write(forget_expired, expires_at + timedelta(seconds=1)) == 1
    assert await tasks_of(api, image_id) == []
    assert await event_count(container, task["id"]) == events


# -- the tasks API's import ------------------------------------------------------------------


@pytest.fixture
async def origin(tmp_path: Path) -> AsyncIterator[str]:
    file = tmp_path / "remote-image"
    file.write_bytes(DATA)
    async with serving(Origin(file)) as url:
        yield url


@pytest.fixture
async def fetching(
    tmp_path: Path, sqlite_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    """An API whose tasks may fetch from loopback (the origin serving the test's data)."""
    tasks = TaskSettings(
        import_allowed_networks="127.0.0.0/8", import_allowed_ports="", time_to_live=2
    )
    return await api_for(embedded_settings(tmp_path, sqlite_url, tasks=tasks))


def import_task(import_from: str, **properties: Any) -> dict[str, Any]:
    image_properties = {"container_format": "bare", "disk_format": "raw", **properties}
    return {
        "type": "import",
        "input": {
            "import_from": import_from,
            "import_from_format": "raw",
            "image_properties": image_properties,
        },
    }


async def test_an_import_task_creates_an_image_from_a_url(
    fetching: tuple[ApiClient, Container], origin: str
) -> None:
    api, _ = fetching
    body = import_task(f"{origin}/image", name="from a url", visibility="public")
    response = await api.post("/v2/tasks", json=body, headers={**ADMIN, **JSON})
    assert response.status == 201, await response.text()
    created = await response.json()
    assert response.headers["Location"].endswith(f"/v2/tasks/{created['id']}")
    assert (created["type"], created["status"], created["input"]) == (
        "import",
        "success",
        body["input"],
    )
    ended, expires = (
        datetime.fromisoformat(created[k].replace("Z", "+00:00"))
        for k in ("updated_at", "expires_at")
    )
    assert expires - ended == timedelta(hours=2)  # CATALOG_TASK_TIME_TO_LIVE
    image_id = created["result"]["image_id"]
    shown = await (await api.get(f"/v2/images/{image_id}", headers=ADMIN)).json()
    assert (shown["name"], shown["status"], shown["size"]) == ("from a url", "active", len(DATA))
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    task = await (await api.get(f"/v2/tasks/{created['id']}", headers=ADMIN)).json()
    assert task == created


async def test_an_import_task_whose_data_cannot_be_had_fails_and_leaves_no_image(
    fetching: tuple[ApiClient, Container], origin: str
) -> None:
    api, _ = fetching
    response = await api.post(
        "/v2/tasks", json=import_task(f"{origin}/broken"), headers={**ADMIN, **JSON}
    )
    assert response.status == 201, await response.text()
    task = await response.json()
    assert (task["status"], task["result"]) == ("failure", None)
    assert task["message"]
    images = await (await api.get("/v2/images", headers=ADMIN)).json()
    assert images["images"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": {}}, "Task 'type' is required"),
        ({"type": "import"}, "Task 'input' is required"),
        ({"type": "import", "input": {}, "status": "success"}, "Invalid location: None"),
        ({"type": "convert", "input": {}}, "Provided object does not match schema 'task'"),
        ({"type": "api_image_import", "input": {}}, "Tasks of type api_image_import are run"),
        ({"type": "import", "input": {"import_from": ""}}, "Invalid location: "),
        (import_task("ftp://example.com/x"), "The given uri is not valid."),
        (import_task("file:///etc/passwd"), "File based imports are not allowed."),
        (
            {"type": "import", "input": {"import_from": "http://example.com/x"}},
            "Input does not contain 'import_from_format' field",
        ),
        (import_task("http://127.0.0.1:9/x"), "URI for legacy import task does not pass"),
        (import_task("http://169.254.169.254/latest"), "URI for legacy import task does not"),
    ],
)
async def test_bad_import_tasks_are_400_and_change_nothing(
    api: ApiClient, container: Container, body: dict[str, Any], message: str
) -> None:
    await refused_without_change(
        container,
        lambda: api.post("/v2/tasks", json=body, headers={**ADMIN, **JSON}),
        400,
        message,
    )
    assert (await listed(api))["tasks"] == []
