"""The schemas the description refers to: Glance's own (those served at `/v2/schemas/…`, with
their local definitions moved among the description's components), and the catalog's answers
that have no Glance schema."""

from __future__ import annotations

import copy
import json
from typing import Any

from infra.http.schemas import SERVED_SCHEMAS, schema

Schema = dict[str, Any]

ANY_OBJECT: Schema = {"type": "object"}
STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def served_name(name: str) -> str:
    """`metadefs/namespace` → `metadefs_namespace` (component names are single words)."""
    return name.replace("/", "_")


def _hoisted(name: str) -> dict[str, Schema]:
    """A served schema and its `definitions`, as components whose references point there."""
    own = copy.deepcopy(schema(name))
    definitions = own.pop("definitions", {})
    prefix = served_name(name)
    text = json.dumps({prefix: own, **{f"{prefix}_{k}": v for k, v in definitions.items()}})
    for key in definitions:
        text = text.replace(f'"#/definitions/{key}"', f'"#/components/schemas/{prefix}_{key}"')
    moved: dict[str, Schema] = json.loads(text)
    return moved


ERROR: Schema = {
    "type": "object",
    "description": "A client's mistake or a refusal, as Glance words it (JSON when the request "
    "accepts application/json and not text/html; an HTML page otherwise).",
    "required": ["message", "code", "title"],
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string"},
        "title": {"type": "string"},
    },
}

VERSIONS: Schema = {
    "type": "object",
    "required": ["versions"],
    "properties": {
        "versions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "status", "links"],
                "properties": {
                    "id": {"type": "string"},
                    "status": {"type": "string", "enum": ["CURRENT", "SUPPORTED"]},
                    "links": {"type": "array", "items": STRING_MAP},
                },
            },
        }
    },
}

HISTORY: Schema = {
    "type": "object",
    "description": "An image's events from the log, oldest first (the catalog's addition).",
    "required": ["image_id", "events"],
    "properties": {
        "image_id": {"type": "string", "format": "uuid"},
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["position", "stream_id", "version", "event_id", "type"],
                "properties": {
                    "position": {"type": "integer"},
                    "stream_id": {"type": "string", "format": "uuid"},
                    "version": {"type": "integer"},
                    "event_id": {"type": "string", "format": "uuid"},
                    "type": {"type": "string", "description": "e.g. image.created"},
                    "occurred_at": TIMESTAMP,
                    "actor": ANY_OBJECT,
                    "request_id": {"type": "string"},
                    "global_request_id": {"type": ["string", "null"]},
                    "change": ANY_OBJECT,
                },
            },
        },
        "next": {"type": "string", "description": "The next page's path, while there is one."},
    },
}

STORE: Schema = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string"},
        "description": {"type": "string"},
        "default": {"type": "string", "enum": ["true"]},
        "read-only": {"type": "string", "enum": ["true"]},
        "type": {"type": "string"},
        "weight": {"type": "integer"},
        "properties": ANY_OBJECT,
    },
}

INFO_SCHEMAS: dict[str, Schema] = {
    "import_info": {
        "type": "object",
        "required": ["import-methods"],
        "properties": {
            "import-methods": {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "type": {"type": "string"},
                    "value": {"type": "array", "items": {"type": "string"}},
                },
            }
        },
    },
    "usage_info": {
        "type": "object",
        "required": ["usage"],
        "properties": {
            "usage": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"limit": {"type": "integer"}, "usage": {"type": "integer"}},
                },
            }
        },
    },
    "stores_info": {
        "type": "object",
        "required": ["stores"],
        "properties": {"stores": {"type": "array", "items": STORE}},
    },
}


def _totals(done: str) -> Schema:
    """What cleaning or pruning the cache removed."""
    names = [f"total_files_{done}", f"total_bytes_{done}"]
    return {
        "type": "object",
        "required": names,
        "properties": {name: {"type": "integer"} for name in names},
    }


OTHER_SCHEMAS: dict[str, Schema] = {
    "error": ERROR,
    "versions": VERSIONS,
    "history": HISTORY,
    **INFO_SCHEMAS,
    "locations": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["url", "metadata"],
            "properties": {"url": {"type": "string"}, "metadata": ANY_OBJECT},
        },
    },
    "image_tasks": {
        "type": "object",
        "required": ["tasks"],
        "properties": {"tasks": {"type": "array", "items": ANY_OBJECT}},
    },
    "cache_state": {
        "type": "object",
        "required": ["cached_images", "queued_images"],
        "properties": {
            "cached_images": {"type": "array", "items": ANY_OBJECT},
            "queued_images": {"type": "array", "items": {"type": "string"}},
        },
    },
    "cache_cleaned": _totals("cleaned"),
    "cache_pruned": _totals("pruned"),
    "json_patch": {
        "type": "array",
        "description": "RFC 6902 operations on the image (Glance's media type "
        "application/openstack-images-v2.1-json-patch; 2.0's too).",
        "items": {
            "type": "object",
            "required": ["op", "path"],
            "properties": {
                "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy"]},
                "path": {"type": "string"},
                "from": {"type": "string"},
                "value": {},
            },
        },
    },
}


def components() -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for name in SERVED_SCHEMAS:
        found.update(_hoisted(name))
    return {**found, **OTHER_SCHEMAS}
