"""/v2/tasks (Glance's tasks API, admins only by default) and /v2/images/{image_id}/tasks.

Every call of the tasks API first asks `tasks_api_access`, then its own rule (`get_tasks`,
`get_task`, `add_task`, `modify_task`); an image's tasks are for whoever may see the image, as
in Glance. Tasks are never deleted by callers: they are forgotten once expired.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from catalog.errors import NotFound
from catalog.identity import Actor
from catalog.policy import Policy
from catalog.queries import tasks as task_queries
from catalog.queries.keyset import MarkerNotFound
from catalog.task import Task
from infra.http.errors import error_response
from infra.http.identity import metadata_of
from infra.http.keys import BUS, DATABASE, POLICY
from infra.http.list_params import page_links
from infra.http.origin import public_url
from infra.http.requests import image_id_from, json_object, reject_body
from infra.http.task_json import image_task_json, task_json, task_stub_json
from infra.http.task_requests import (
    import_task_command,
    not_found_marker,
    task_id_from,
    task_query,
)
from infra.http.views.images import visible_image

NOT_DELETABLE = (
    "This operation is currently not permitted on Glance Tasks. They are auto deleted after"
    " reaching the time based on their expires_at property."
)


def _allowed(request: web.Request, rule: str | None) -> tuple[Actor, Policy]:
    """The caller, who may use the tasks API and do `rule` (if given here); else 403."""
    actor, policy = metadata_of(request).actor, request.app[POLICY]
    policy.enforce(actor, "tasks_api_access")
    if rule is not None:
        policy.enforce(actor, rule)
    return actor, policy


def _now(request: web.Request) -> datetime:
    return request.app[BUS].context.clock.now()


async def index(request: web.Request) -> web.Response:
    actor, policy = _allowed(request, "get_tasks")
    query = task_query(request.query)
    try:
        page = await request.app[DATABASE].read(
            task_queries.list_tasks, policy.viewer(actor), query, _now(request)
        )
    except MarkerNotFound as e:
        raise not_found_marker(str(e)) from e
    more = str(page[-1].id) if page and len(page) == query.limit else None
    body: dict[str, object] = {
        "tasks": [task_stub_json(task) for task in page],
        **page_links("/v2/tasks", request.query, more),
        "schema": "/v2/schemas/tasks",
    }
    return web.json_response(body)


async def show(request: web.Request) -> web.Response:
    actor, policy = _allowed(request, None)  # `get_task` is about the task: asked once found
    reject_body(request)
    task_id = task_id_from(request)
    found = await request.app[DATABASE].read(
        task_queries.find_task, task_id, policy.viewer(actor), _now(request)
    )
    if found is None:
        raise NotFound(f"Could not find task {task_id}")
    policy.enforce(actor, "get_task", {"project_id": found.owner, "owner": found.owner})
    return web.json_response(task_json(found))


async def create(request: web.Request) -> web.Response:
    _allowed(request, "add_task")
    command = import_task_command(await json_object(request))
    task: Task = await request.app[BUS].dispatch(command, metadata_of(request))
    location = public_url(request, f"/v2/tasks/{task.id}")
    shown = task_json(task_queries.view_of_task(task))
    return web.json_response(shown, status=201, headers={"Location": location})


async def delete(request: web.Request) -> web.Response:
    _allowed(request, "modify_task")
    return error_response(request, 405, NOT_DELETABLE, headers={"Allow": "GET"})


async def image_tasks(request: web.Request) -> web.Response:
    """The image's tasks (v2.12), for whoever may see the image."""
    reject_body(request)
    missing = "The resource could not be found."
    image_id = image_id_from(request, missing)
    await visible_image(request, image_id, missing)
    tasks = await request.app[DATABASE].read(task_queries.tasks_of_image, image_id, _now(request))
    return web.json_response({"tasks": [image_task_json(task) for task in tasks]})
