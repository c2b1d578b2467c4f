"""/v2/images/{image_id}/import: interoperable image import (every method of `IMPORT_METHODS`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from catalog.commands.copy_image import CopyImage
from catalog.commands.import_image import IMPORT_METHODS, ImportImage
from catalog.commands.web_download import WebDownload
from catalog.errors import BadRequest
from infra.http.client_text import text_header
from infra.http.identity import metadata_of
from infra.http.keys import BUS, STORES
from infra.http.requests import image_id_from, json_object

MISSING = "No image found with ID {id}"


def method_from(body: dict[str, Any]) -> str:
    """The import method named by the body, checked as Glance checks it (400s)."""
    method = body.get("method")
    if method is None:
        raise BadRequest("Import request requires a 'method' field.")
    if not isinstance(method, dict) or "name" not in method:
        raise BadRequest("Import request requires a 'name' field.")
    name = method["name"]
    if name not in IMPORT_METHODS:
        raise BadRequest(f"Unknown import method name '{name}'.")
    for flag in ("all_stores_must_succeed", "all_stores"):
        if flag in body and not isinstance(body[flag], bool):
            raise BadRequest(f"'{flag}' must be boolean value only")
    return str(name)


def stores_from(request: web.Request, body: dict[str, Any]) -> tuple[str, ...] | None:
    """The stores an import targets, as Glance reads them: `all_stores` (None here), the
    `stores` list, the `X-Image-Meta-Store` header, else the default store."""
    header = text_header(request, "X-Image-Meta-Store")
    if body.get("all_stores", False):
        if "stores" in body or header is not None:
            raise BadRequest(
                "All_stores parameter can't be used with x-image-meta-store header "
                "or stores parameter"
            )
        return None
    if "stores" in body:
        if header is not None:
            raise BadRequest(
                "Stores parameter and x-image-meta-store header can't be both specified"
            )
        stores = body["stores"]
        if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
            raise BadRequest("'stores' must be a list of store identifiers.")
        if not stores:  # an import into nowhere could only fail, or activate without data
            raise BadRequest("'stores' must name at least one store.")
        return tuple(stores)
    return (header or request.app[STORES].default_name,)


def web_download_from(method: dict[str, Any]) -> dict[str, Any]:
    """web-download's URI and `validation_data`, checked as Glance checks them (400s)."""
    uri = method.get("uri")
    if not isinstance(uri, str) or not uri:
        raise BadRequest(f"URI for web-download does not pass filtering: {uri}")
    validation = method.get("validation_data")
    if validation is None:
        return {"uri": uri}
    if not isinstance(validation, dict):
        raise BadRequest("'validation_data' must be an object.")
    algorithm, value = validation.get("os_hash_algo"), validation.get("os_hash_value")
    if not isinstance(algorithm, str) or not isinstance(value, str):
        raise BadRequest("'validation_data' requires 'os_hash_algo' and 'os_hash_value'.")
    return {"uri": uri, "validation": (algorithm, value.lower())}


async def import_image(request: web.Request) -> web.Response:
    image_id = image_id_from(request, MISSING)
    body = await json_object(request)
    method = method_from(body)
    asked: dict[str, Any] = {
        "image_id": image_id,
        "method": method,
        "stores": stores_from(request, body),
        "all_stores_must_succeed": body.get("all_stores_must_succeed", True),
        "request": body,
    }
    command: ImportImage
    if method == "copy-image":
        command = CopyImage(**asked)
    elif method == "web-download":
        token = request.headers.get("X-Auth-Token")
        command = WebDownload(**asked, **web_download_from(body["method"]), token=token)
    else:
        command = ImportImage(**asked)
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=202)
