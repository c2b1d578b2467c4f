"""The JSON schemas the API serves and validates request bodies with (Glance's, verbatim)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

HERE = Path(__file__).parent

SERVED_SCHEMAS = (
    "image",
    "images",
    "member",
    "members",
    "task",
    "tasks",
    *(
        f"metadefs/{name}"
        for name in (
            "namespace",
            "namespaces",
            "object",
            "objects",
            "property",
            "properties",
            "tag",
            "tags",
            "resource_type",
            "resource_types",
        )
    ),
)
"""The schemas `GET /v2/schemas/<name>` serves, by name (each a file `<name>.json` here)."""


@cache
def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HERE / f"{name}.json").read_text())
    return loaded


@cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for the schema, checked once: validating against it is then cheap."""
    cls = jsonschema.validators.validator_for(schema(name), default=jsonschema.Draft4Validator)
    cls.check_schema(schema(name))
    return cls(schema(name))
