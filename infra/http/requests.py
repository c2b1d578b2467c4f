"""Reading request bodies the way Glance does, with its error messages."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jsonschema
from aiohttp import web

from catalog.commands.create_image import CreateImage
from catalog.errors import BadRequest, Forbidden, NotFound
from catalog.image_patch import BASE_ATTRIBUTES, MINIMUMS, check_minimum
from infra.http.client_text import refuse_unstorable
from infra.http.schemas import validator

DISALLOWED_ON_CREATE = ("direct_url", "self", "file", "schema", "stores")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_ON_CREATE = (*RESERVED, "locations")
READ_ONLY = (
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "os_hash_algo",
    "os_hash_value",
)
# What create takes as the image's own fields; any other key is a custom property.
CREATE_ATTRIBUTES = ("id", *BASE_ATTRIBUTES)


# The API's documents nest four levels deep at most; this leaves room, and keeps everything
# that walks a document (schema checks, error messages, storing it) far from Python's
# recursion limit.
JSON_DEPTH_LIMIT = 32
TOO_DEEP = f"The request body is nested too deeply: at most {JSON_DEPTH_LIMIT} levels are accepted."


async def json_body(request: web.Request) -> Any:
    """The request's JSON document: well formed, not too deep, and only text that can be kept."""
    try:
        document = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest("Malformed JSON in request body.") from e
    except RecursionError as e:  # nested deeper than the parser itself can go
        raise BadRequest(TOO_DEEP) from e
    _check_document(document)
    return document


def _check_document(document: Any) -> None:
    """Its depth and every string in it (keys too), without recursion."""
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            refuse_unstorable(value, "The request body")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth == JSON_DEPTH_LIMIT:
            raise BadRequest(TOO_DEEP)
        if isinstance(value, dict):
            for key in value:
                refuse_unstorable(key, "The request body")
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children)


async def json_object(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        # Glance answers 500 here; a body that is not an object is the client's mistake.
        raise BadRequest("The request body must be a JSON object.")
    return body


def validate_image(body: dict[str, Any]) -> None:
    try:
        validator("image").validate(body)
    except jsonschema.ValidationError as e:
        raise BadRequest(f"Provided object does not match schema 'image': {e}") from e


def create_command(body: dict[str, Any]) -> CreateImage:
    for key in DISALLOWED_ON_CREATE:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    validate_image(body)
    for key in body:
        if key in RESERVED_ON_CREATE or key.startswith("os_glance"):
            raise Forbidden(f"Attribute '{key}' is reserved.")
        if len(key) > 255:
            raise BadRequest(f"Property key {key[:64]}... is longer than 255 characters.")
    for key in READ_ONLY:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    for key in MINIMUMS:
        if body.get(key) is not None:
            check_minimum(key, body[key])
    known = {k: body[k] for k in CREATE_ATTRIBUTES if k in body and body[k] is not None}
    properties = {k: v for k, v in body.items() if k not in CREATE_ATTRIBUTES}
    return CreateImage(
        image_id=uuid.UUID(known.pop("id")) if "id" in known else None,
        tags=tuple(known.pop("tags", ())),
        properties=properties,
        **known,
    )


def image_id_from(request: web.Request, missing: str) -> uuid.UUID:
    """The `{image_id}` of the path; a malformed one names no image (Glance answers 404)."""
    raw = request.match_info["image_id"]
    try:
        return uuid.UUID(raw)
    except ValueError as e:
        raise NotFound(missing.format(id=raw)) from e


def reject_body(request: web.Request) -> None:
    if request.body_exists:
        raise BadRequest("A body is not expected with this request.")
