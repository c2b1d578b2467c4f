"""Reading the tasks API's requests as Glance does, with its error messages: the list's
parameters, a task's id, and the body of `POST /v2/tasks`."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

import jsonschema
from aiohttp import web
from multidict import MultiMapping

from catalog.commands.create_import_task import CreateImportTask
from catalog.errors import BadRequest, NotFound
from catalog.queries.tasks import FILTERS, SORT_KEYS, TaskQuery
from catalog.task import TaskStatus, TaskType
from infra.http.list_params import limit_from, sort_direction
from infra.http.requests import create_command
from infra.http.schemas import schema

IMPORT_INPUT = ("import_from", "import_from_format", "image_properties")
"""What a tasks API import needs in its input (Glance's `unpack_task_input`)."""
SUPPORTED_URI = "['http']"


def task_query(params: MultiMapping[str]) -> TaskQuery:
    """`GET /v2/tasks`'s parameters; other parameters are ignored, as Glance ignores those
    that name no column of its tasks."""
    status = params.get("status")
    if status and status not in tuple(TaskStatus):
        raise BadRequest(f"Invalid status value: {status}")
    kind = params.get("type")
    if kind and kind not in tuple(TaskType):
        raise BadRequest(f"Invalid type value: {kind}")
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise BadRequest("Sort key supplied was not valid.")
    return TaskQuery(
        limit=limit_from(params),
        marker=_marker(params.get("marker")),
        filters=tuple((name, params[name]) for name in FILTERS if name in params),
        sort_key=sort_key,
        sort_dir=sort_direction(params.get("sort_dir", "desc")),
    )


def not_found_marker(marker: str) -> BadRequest:
    return BadRequest(f"Task with the given id {marker} was not found")


def _marker(marker: str | None) -> uuid.UUID | None:
    if marker is None:
        return None
    if not marker:
        raise not_found_marker(marker)
    try:
        return uuid.UUID(marker)
    except ValueError as e:
        raise BadRequest("Invalid marker format") from e


def task_id_from(request: web.Request) -> uuid.UUID:
    """The `{task_id}` of the path; a malformed one names no task (404)."""
    raw = request.match_info["task_id"]
    try:
        return uuid.UUID(raw)
    except ValueError as e:
        raise NotFound(f"Could not find task {raw}") from e


@cache
def _task_validator() -> jsonschema.protocols.Validator:
    # Glance validates a new task against its task schema with no other properties allowed.
    strict = {**schema("task"), "additionalProperties": False}
    cls = jsonschema.validators.validator_for(strict, default=jsonschema.Draft4Validator)
    return cls(strict)


def import_task_command(body: dict[str, Any]) -> CreateImportTask:
    """The command for `POST /v2/tasks`: a task of type `import` (the other types are the
    catalog's own, run by the import and location APIs)."""
    for required in ("type", "input"):
        if required not in body:
            raise BadRequest(f"Task '{required}' is required")
    try:
        _task_validator().validate(body)
    except jsonschema.ValidationError as e:
        raise BadRequest(f"Provided object does not match schema 'task': {e}") from e
    kind, task_input = body["type"], body["input"]
    if kind != TaskType.IMPORT:
        raise BadRequest(
            f"Tasks of type {kind} are run by the catalog for its own import APIs;"
            " the tasks API creates tasks of type import only."
        )
    task_input = task_input or {}
    import_from = _import_from(task_input.get("import_from"))
    for key in IMPORT_INPUT:
        if key not in task_input:
            raise BadRequest(f"Input does not contain '{key}' field")
    properties = task_input["image_properties"]
    if not isinstance(properties, dict):
        raise BadRequest("Input field 'image_properties' must be an object.")
    if not properties:
        # Glance's placeholders for an import that names no formats.
        properties = {"disk_format": "qcow2", "container_format": "bare"}
    return CreateImportTask(
        import_from=import_from, image=create_command(dict(properties)), input=task_input
    )


def _import_from(location: Any) -> str:
    """`import_from` if it is an http(s) URL, with Glance's words for what it is not."""
    if not location or not isinstance(location, str):
        raise BadRequest(f"Invalid location: {location}")
    if location.startswith(("http://", "https://")):
        return location
    if location.startswith(("file:///", "filesystem:///")):
        raise BadRequest(
            "File based imports are not allowed. Please use a non-local source of image data."
        )
    raise BadRequest(
        "The given uri is not valid. Please specify a valid uri from the following list of"
        f" supported uri {SUPPORTED_URI}"
    )
