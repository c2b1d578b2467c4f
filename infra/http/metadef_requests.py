"""Reading metadata definitions requests the way Glance does: bodies checked against Glance's
schemas (the ones `/v2/schemas/metadefs/*` serves, and two it uses without serving them),
then read into the domain's definitions; list parameters with Glance's rules and messages."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema
from multidict import MultiMapping

from catalog.errors import BadRequest, Forbidden
from catalog.events.metadefs import (
    MetadefNamespaceCreated,
    MetadefNamespaceUpdated,
    MetadefResourceTypeAssociated,
    ObjectDefinition,
    PropertyDefinition,
)
from catalog.metadefs.definitions import object_definition, properties_of, property_definition
from catalog.metadefs.namespace import NamespaceDefinition
from catalog.queries.metadef_contents import TAG_SORT_KEYS, TagQuery
from catalog.queries.metadef_namespaces import SORT_KEYS, NamespaceListQuery
from infra.http.list_params import limit_from, sort_direction
from infra.http.schemas import schema, validator

GENERATED = ("self", "schema", "created_at", "updated_at")
"""What a client may not send in a namespace or an object (Glance: read-only, 403)."""
TIMES = ("created_at", "updated_at")
"""... nor in a property, a tag or an association."""
NAMESPACE_FIELDS = ("namespace", "display_name", "description", "visibility", "protected", "owner")


def _valid(body: Any, checker: jsonschema.protocols.Validator) -> None:
    try:
        checker.validate(body)
    except jsonschema.ValidationError as e:
        name = checker.schema["name"] if isinstance(checker.schema, dict) else ""
        raise BadRequest(f"Provided object does not match schema '{name}': {e}") from e


def checked(body: Any, name: str, read_only: tuple[str, ...] = ()) -> dict[str, Any]:
    """`body`, refused if it sets a read-only attribute (403) or does not match the schema
    `metadefs/<name>` (400)."""
    return _checked_against(validator(f"metadefs/{name}"), body, read_only)


def _checked_against(
    checker: jsonschema.protocols.Validator, body: Any, read_only: tuple[str, ...]
) -> dict[str, Any]:
    if isinstance(body, dict):
        for key in read_only:
            if key in body:
                raise Forbidden(f"Attribute '{key}' is read-only.")
    _valid(body, checker)
    checked_body: dict[str, Any] = body
    return checked_body


@cache
def _unnamed_property() -> jsonschema.protocols.Validator:
    """A property inside an object: named by its key, so without a `name` of its own."""
    unnamed = copy.deepcopy(schema("metadefs/property"))
    unnamed["required"] = [r for r in unnamed["required"] if r != "name"]
    return jsonschema.Draft4Validator(unnamed)


@cache
def _tag_list() -> jsonschema.protocols.Validator:
    tag = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    tags = {"type": "array", "items": tag}
    return jsonschema.Draft4Validator(
        {"name": "tags", "properties": {"tags": tags}, "additionalProperties": False}
    )


def namespace_definition(body: Any) -> NamespaceDefinition:
    """A namespace to create, with the contents it comes with (POST)."""
    body = checked(body, "namespace", GENERATED)
    return definition_of_namespace(body)


def definition_of_namespace(body: dict[str, Any]) -> NamespaceDefinition:
    """A namespace from a document already checked against the namespace schema (a request's,
    a definition file's)."""
    fields = {key: body[key] for key in NAMESPACE_FIELDS if body.get(key) is not None}
    return NamespaceDefinition(
        fields=MetadefNamespaceCreated(**fields),
        associations=tuple(association(a) for a in body.get("resource_type_associations") or ()),
        objects=tuple(object_definition(o) for o in body.get("objects") or ()),
        tags=tuple(_tag_name(tag) for tag in body.get("tags") or ()),
        properties=tuple(properties_of(body.get("properties")).values()),
    )


def _tag_name(tag: dict[str, Any]) -> str:
    if not isinstance(tag.get("name"), str):
        raise BadRequest("A tag must have a name.")
    return str(tag["name"])


def namespace_fields(body: Any) -> MetadefNamespaceUpdated:
    """A namespace's own fields, all of them (PUT): what the body leaves out takes its
    default; the contents it may hold are not changed this way (Glance ignores them)."""
    body = checked(body, "namespace", GENERATED)
    fields = {key: body[key] for key in NAMESPACE_FIELDS if body.get(key) is not None}
    return MetadefNamespaceUpdated(**fields)


def object_body(body: Any) -> ObjectDefinition:
    body = checked(body, "object", GENERATED)
    for value in (body.get("properties") or {}).values():
        _valid(value, _unnamed_property())
    return object_definition(body)


def property_body(body: Any) -> PropertyDefinition:
    body = checked(body, "property", TIMES)
    return property_definition(body["name"], body)


def association(body: dict[str, Any]) -> MetadefResourceTypeAssociated:
    return MetadefResourceTypeAssociated(
        name=body.get("name", ""),
        prefix=body.get("prefix"),
        properties_target=body.get("properties_target"),
    )


def association_body(body: Any) -> MetadefResourceTypeAssociated:
    return association(checked(body, "resource_type", TIMES))


def tag_name(name: str) -> str:
    """A tag named by the path (POST …/tags/{tag_name}), checked as Glance's tag schema."""
    return str(checked({"name": name}, "tag")["name"])


def tag_rename(body: Any) -> str:
    return str(checked(body, "tag", TIMES)["name"])


def tag_names(body: Any) -> tuple[str, ...]:
    """The tags of POST …/tags; none when the body names none (Glance fails on that)."""
    body = _checked_against(_tag_list(), body, TIMES)
    return tuple(tag["name"] for tag in body.get("tags") or ())


def appending(value: str | None) -> bool:
    """`X-Openstack-Append`, read as oslo's `bool_from_string`: anything else is false."""
    return (value or "").strip().lower() in ("1", "t", "true", "on", "y", "yes")


def _sort_dir(params: MultiMapping[str]) -> str:
    return sort_direction(params.get("sort_dir", "desc"))


def _sort_key(params: MultiMapping[str], keys: tuple[str, ...]) -> str:
    # Glance fails on a key that is not a column (500); one is asked for here.
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in keys:
        raise BadRequest(f"Invalid sort key: {sort_key}. It must be one of: {', '.join(keys)}")
    return sort_key


def _limit(params: MultiMapping[str], *, zero: bool = True) -> int | None:
    """The `limit` of the lists of a namespace's contents: none unless given (all are listed),
    and not capped, unlike the namespaces' own (`limit_from`)."""
    if "limit" not in params:
        return None
    try:
        limit = int(params["limit"])
    except ValueError as e:
        raise BadRequest("limit param must be an integer") from e
    if limit < 0 or (limit == 0 and not zero):
        raise BadRequest("limit param must be positive")
    return limit


def _visibility(params: MultiMapping[str], allowed: tuple[str, ...]) -> str | None:
    visibility = params.get("visibility") or None
    if visibility is not None and visibility not in allowed:
        raise BadRequest(f"Invalid visibility value: {visibility}")
    return visibility


def namespace_list_query(params: MultiMapping[str]) -> NamespaceListQuery:
    types = params.get("resource_types")
    return NamespaceListQuery(
        limit=limit_from(params),
        marker=params.get("marker"),
        sort_key=_sort_key(params, SORT_KEYS),
        sort_dir=_sort_dir(params),
        visibility=_visibility(params, ("public", "private")),
        resource_types=tuple(types.split(",")) if types else (),
    )


def tag_list_query(params: MultiMapping[str]) -> TagQuery:
    _visibility(params, ("public", "private", "shared"))
    return TagQuery(
        limit=_limit(params),
        marker=params.get("marker") or None,
        sort_key=_sort_key(params, TAG_SORT_KEYS),
        sort_dir=_sort_dir(params),
    )


def check_object_list(params: MultiMapping[str]) -> None:
    """Glance checks these parameters of the objects' list, then lists every object."""
    _limit(params, zero=False)
    _sort_dir(params)
    _visibility(params, ("public", "private", "shared"))
