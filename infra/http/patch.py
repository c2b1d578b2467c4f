"""Reading a PATCH body into operations, with Glance's media types, pointer rules and messages.

Two media types: `…-v2.1-json-patch` (`{"op": "add", "path": "/x", "value": …}`, and also
`{"op": "move", "from": "/y", "path": "/x"}` and `copy`) and the older `…-v2.0-json-patch`
(`{"add": "/x", "value": …}`, where `add` refuses what already exists). Paths name top-level
attributes, or one tag (`/tags/<index>`, `/tags/-`); `/locations` operations are refused, since
locations are not shown to users.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from catalog.errors import BadRequest, Forbidden, UnsupportedMediaType
from catalog.image_patch import PatchOperation, Pointer
from catalog.import_progress import PROGRESS
from infra.http.requests import READ_ONLY, RESERVED, validate_image

V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"
MEDIA_TYPES = (V20, V21)
ACCEPT_PATCH = ", ".join(MEDIA_TYPES)
OPERATIONS = ("add", "remove", "replace")
OPERATIONS_V21 = (*OPERATIONS, "move", "copy")
FROM_OPERATIONS = ("move", "copy")
READ_ONLY_IN_PATCH = (*READ_ONLY, "id", "direct_url", "self", "file", "schema")


def media_type_check(content_type: str) -> bool:
    """Whether this Content-Type is the older v2.0 one; 415 if it is neither."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"The request media type {media_type or 'None'} is not supported by this server.",
            detail=f"Image PATCH expects Content-Type one of: {ACCEPT_PATCH}",
        )
    return media_type == V20


def operations_from(body: Any, *, older_media_type: bool) -> tuple[PatchOperation, ...]:
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    operations = []
    for raw in body:
        if not isinstance(raw, dict):
            raise BadRequest("Operations must be JSON objects.")
        op, pointer = _op_and_pointer_v20(raw) if older_media_type else _op_and_pointer(raw)
        path = _parse(pointer)
        source = None
        value = None
        if op in FROM_OPERATIONS:
            if "from" not in raw:
                raise BadRequest("Unable to find 'from' in JSON Schema change")
            source = _parse(_pointer(raw["from"]))
            _check_attribute(source, "remove", None)
        elif op != "remove":
            if "value" not in raw:
                raise BadRequest(f'Operation "{op}" requires a member named "value".')
            value = raw["value"]
        _check_attribute(path, op, value)
        operations.append(
            PatchOperation(
                op=op,
                path=path,
                value=value,
                source=source,
                add_requires_absent=older_media_type,
            )
        )
    return tuple(operations)


def _op_and_pointer(raw: dict[str, Any]) -> tuple[Any, str]:
    choices = ", ".join(OPERATIONS_V21)
    op = raw.get("op")
    if op is None:
        raise BadRequest(
            f"Unable to find `op` in JSON Schema change. It must be one of the following: "
            f"{choices}."
        )
    if op not in OPERATIONS_V21:
        raise BadRequest(f"Invalid operation: `{op}`. It must be one of the following: {choices}.")
    if "path" not in raw:
        raise BadRequest("Unable to find 'path' in JSON Schema change")
    return op, _pointer(raw["path"])


def _op_and_pointer_v20(raw: dict[str, Any]) -> tuple[Any, str]:
    present = [op for op in OPERATIONS if op in raw]
    if len(present) > 1:
        raise BadRequest(
            'Operation objects must contain only one member named "add", "remove", or "replace".'
        )
    if not present:
        raise BadRequest(
            'Operation objects must contain exactly one member named "add", "remove", or "replace".'
        )
    return present[0], _pointer(raw[present[0]])


def _pointer(path: Any) -> str:
    if not isinstance(path, str):
        raise BadRequest(f'Pointer `{path}` does not start with "/".')
    return path


def _parse(pointer: str) -> Pointer:
    """What a JSON pointer names (RFC 6901 escapes), by Glance's stricter rules: a top-level
    attribute, one tag, or something under `locations` (refused later, as Glance does)."""
    if not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise BadRequest(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise BadRequest(f'Pointer `{pointer}` end with "/".')
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise BadRequest(
            f'Pointer `{pointer}` contains "~" not part of a recognized escape sequence.'
        )
    tokens = [t.replace("~1", "/").replace("~0", "~").strip() for t in pointer[1:].split("/")]
    if len(tokens) == 1 or tokens[0] == "locations":
        return Pointer(name=tokens[0])
    if len(tokens) == 2 and tokens[0] == "tags" and (index := _index(tokens[1])) is not None:
        return Pointer(name="tags", index=index)
    raise BadRequest(f"Invalid JSON pointer for this resource: '/{'/'.join(tokens)}'")


def _index(token: str) -> int | Literal["-"] | None:
    """An array index as RFC 6901 writes it (no leading zeros), `-` for after the last."""
    if token == "-":
        return "-"
    if token.isascii() and token.isdigit() and (token == "0" or not token.startswith("0")):
        return int(token)
    return None


def _check_attribute(pointer: Pointer, op: str, value: Any) -> None:
    root = pointer.name
    if root in READ_ONLY_IN_PATCH:
        raise Forbidden(f"Attribute '{root}' is read-only.")
    if root in RESERVED or (root.startswith("os_glance") and root not in PROGRESS):
        raise Forbidden(f"Attribute '{root}' is reserved.")  # an import's progress: as `stores`
    if root == "locations":
        raise Forbidden("It's not allowed to update locations if locations are invisible.")
    if len(root) > 255:
        raise BadRequest(f"Property key {root[:64]}... is longer than 255 characters.")
    if op in ("add", "replace"):
        validate_image({root: value if pointer.index is None else [value]})
