"""Metadata definitions as Glance shows them: attributes without a value are left out, and a
namespace shows only the kinds of contents it has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.metadefs.definitions import ordered
from catalog.queries.metadef_contents import (
    AssociationView,
    NamespaceContents,
    ObjectView,
    PropertyView,
    ResourceTypeView,
    TagView,
)
from catalog.queries.metadef_namespaces import NamespaceView
from infra.http.image_json import timestamp

NAMESPACES = "/v2/metadefs/namespaces"


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def namespace_href(name: str) -> str:
    return f"{NAMESPACES}/{name}"


def namespace_json(
    view: NamespaceView,
    associations: Sequence[AssociationView] = (),
    contents: NamespaceContents | None = None,
) -> dict[str, Any]:
    shown = _present(
        {
            "namespace": view.namespace,
            "display_name": view.display_name,
            "description": view.description,
            "visibility": view.visibility,
            "protected": view.protected,
            "owner": view.owner,
            "created_at": timestamp(view.created_at),
            "updated_at": timestamp(view.updated_at),
        }
    )
    if associations:
        shown["resource_type_associations"] = [association_json(a) for a in associations]
    if contents is not None:
        if contents.properties:
            shown["properties"] = {p.name: ordered(p.attributes) for p in contents.properties}
        if contents.objects:
            shown["objects"] = [object_json(view.namespace, o) for o in contents.objects]
        if contents.tags:
            shown["tags"] = [{"name": t.name} for t in contents.tags]
    shown["self"] = namespace_href(view.namespace)
    shown["schema"] = "/v2/schemas/metadefs/namespace"
    return shown


def association_json(association: AssociationView) -> dict[str, Any]:
    return _present(
        {
            "name": association.name,
            "prefix": association.prefix,
            "properties_target": association.properties_target,
            "created_at": timestamp(association.created_at),
            "updated_at": timestamp(association.updated_at),
        }
    )


def object_json(namespace: str, view: ObjectView) -> dict[str, Any]:
    return _present(
        {
            "name": view.name,
            "required": list(view.required),
            "description": view.description,
            "properties": {name: ordered(p) for name, p in view.properties.items()},
            "created_at": timestamp(view.created_at),
            "updated_at": timestamp(view.updated_at),
            "self": f"{namespace_href(namespace)}/objects/{view.name}",
            "schema": "/v2/schemas/metadefs/object",
        }
    )


def property_json(view: PropertyView) -> dict[str, Any]:
    return {"name": view.name, **ordered(view.attributes)}


def properties_json(views: Sequence[PropertyView]) -> dict[str, Any]:
    return {"properties": {view.name: ordered(view.attributes) for view in views}}


def tag_json(view: TagView) -> dict[str, Any]:
    return {
        "name": view.name,
        "created_at": timestamp(view.created_at),
        "updated_at": timestamp(view.updated_at),
    }


def resource_type_json(view: ResourceTypeView) -> dict[str, Any]:
    # Made by its first association, never changed since: as Glance shows such a one.
    made = timestamp(view.created_at)
    return {"name": view.name, "created_at": made, "updated_at": made}
