"""Property and object definitions as Glance keeps them, from the JSON a client or a file gave.

Glance reads every property definition through one model (`PropertyType`) before keeping or
showing it: attributes it does not know are refused, `default` becomes text, `minimum` and
`maximum` whole numbers, and so on. The same is done here, once, when a definition comes in;
what is kept is what is shown. Where Glance's model fails on an input (an attribute it does not
know, an `enum` of numbers: a 500 there), the client gets a 400 saying what is wrong.

The shape of the JSON (types, lengths, required attributes) is checked before, against
Glance's schemas, by whoever reads it (the API, the loader of definition files).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from catalog.errors import BadRequest
from catalog.events.metadefs import ObjectDefinition, PropertyDefinition

PROPERTY_ATTRIBUTES = (
    "type",
    "title",
    "description",
    "operators",
    "default",
    "readonly",
    "minimum",
    "maximum",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "confidential",
    "items",
    "uniqueItems",
    "minItems",
    "maxItems",
    "additionalItems",
)
"""The attributes of a property definition, in the order Glance shows them."""

_TEXT = frozenset({"type", "title", "description", "pattern"})
_WHOLE = frozenset({"minLength", "maxLength", "minItems", "maxItems"})
_TRUNCATED = frozenset({"minimum", "maximum"})  # Glance keeps numbers as whole ones
_FLAGS = frozenset({"readonly", "confidential", "uniqueItems", "additionalItems"})
_LISTS_OF_TEXT = frozenset({"operators", "enum"})
# How Glance's model reads a flag given as text.
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


def property_definition(name: str, given: Mapping[str, Any]) -> PropertyDefinition:
    """The definition of property `name` as Glance keeps it (a `name` in `given` is the
    property's own, already taken as `name`)."""
    attributes: dict[str, Any] = {}
    for key, value in given.items():
        if key == "name":
            continue
        if key not in PROPERTY_ATTRIBUTES:
            raise BadRequest(f"Property {name}: unknown attribute {key!r}.")
        attributes[key] = _attribute(name, key, value)
    for mandatory in ("type", "title"):
        if attributes.get(mandatory) is None:
            raise BadRequest(f"Property {name}: {mandatory!r} is required.")
    return PropertyDefinition(name=name, attributes=attributes)


def _attribute(name: str, key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "default":
        return _as_text(value)
    if key == "items":
        return _items(name, value)
    if key in _FLAGS:
        return _flag(name, key, value)
    if key in _TRUNCATED or key in _WHOLE:
        return _whole(name, key, value)
    if key in _LISTS_OF_TEXT:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"Property {name}: {key!r} must be a list of strings.")
        return list(value)
    if key in _TEXT and not isinstance(value, str):
        raise BadRequest(f"Property {name}: {key!r} must be a string.")
    return value


def _as_text(value: Any) -> str | None:
    # Glance's model keeps a default as text; a list or an object it cannot, and drops it.
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _flag(name: str, key: str, value: Any) -> bool:
    if isinstance(value, (bool, int)):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise BadRequest(f"Property {name}: {key!r} must be true or false.")


def _whole(name: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"Property {name}: {key!r} must be a number.")
    return int(value)


def _items(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"Property {name}: 'items' must be an object.")
    unknown = set(value) - {"type", "enum"}
    if unknown:
        raise BadRequest(f"Property {name}: unknown attribute {sorted(unknown)[0]!r} of 'items'.")
    if not isinstance(value.get("type"), str):
        raise BadRequest(f"Property {name}: 'items' must have a 'type'.")
    items: dict[str, Any] = {"type": value["type"]}
    if value.get("enum") is not None:
        items["enum"] = _attribute(name, "enum", value["enum"])
    return items


def properties_of(given: Mapping[str, Any] | None) -> dict[str, PropertyDefinition]:
    """A `properties` object (name -> definition), each definition as Glance keeps it."""
    return {name: property_definition(name, value) for name, value in (given or {}).items()}


def object_definition(given: Mapping[str, Any]) -> ObjectDefinition:
    """An object as Glance keeps it, from a JSON object already checked against its schema."""
    name = given.get("name")
    if not isinstance(name, str):
        raise BadRequest("An object must have a name.")
    properties = properties_of(given.get("properties"))
    return ObjectDefinition(
        name=name,
        description=given.get("description"),
        required=tuple(given.get("required") or ()),
        properties={name: p.attributes for name, p in properties.items()},
    )


def ordered(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A definition's attributes in the order Glance shows them."""
    return {key: attributes[key] for key in PROPERTY_ATTRIBUTES if key in attributes}


NAME_LIMIT = 80
"""The longest name Glance keeps: of a namespace, object, property, tag or resource type."""


def checked_name(what: str, name: str) -> str:
    """`name` if it can name a `what` ("namespace", "object", ...): 1 to 80 characters."""
    if not name:
        raise BadRequest(f"The {what} name must not be empty.")
    if len(name) > NAME_LIMIT:
        raise BadRequest(f"The {what} name {name[:NAME_LIMIT]}... is longer than 80 characters.")
    return name
