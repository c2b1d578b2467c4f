"""What a metadata definitions namespace holds: /v2/metadefs/namespaces/{namespace}/objects,
/properties, /tags and /resource_types, each listed, shown, created, changed and deleted.

Reads find the namespace as its own routes do (`readable_namespace`), then its contents; writes
are commands, answered from the namespace as the command left it.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from catalog.commands.associate_resource_type import (
    AssociateResourceType,
    DissociateResourceType,
)
from catalog.commands.base import Command
from catalog.commands.manage_metadef_objects import (
    CreateMetadefObject,
    DeleteMetadefObject,
    UpdateMetadefObject,
)
from catalog.commands.manage_metadef_properties import (
    CreateMetadefProperty,
    DeleteMetadefProperty,
    UpdateMetadefProperty,
)
from catalog.commands.manage_metadef_tags import (
    CreateMetadefTag,
    CreateMetadefTags,
    DeleteMetadefTag,
    UpdateMetadefTag,
)
from catalog.commands.metadef_access import namespace_not_found, no_namespace
from catalog.errors import NotFound
from catalog.metadefs.namespace import (
    Namespace,
    object_not_found,
    property_not_found,
    tag_not_found,
)
from catalog.queries import metadef_contents as contents
from infra.http.identity import metadata_of
from infra.http.keys import BUS, DATABASE
from infra.http.metadef_json import (
    association_json,
    object_json,
    properties_json,
    property_json,
    tag_json,
)
from infra.http.metadef_requests import (
    appending,
    association_body,
    check_object_list,
    object_body,
    property_body,
    tag_list_query,
    tag_name,
    tag_names,
    tag_rename,
)
from infra.http.requests import json_object, reject_body
from infra.http.views.metadef_namespaces import readable_namespace

OBJECTS_SCHEMA = "v2/schemas/metadefs/objects"
"""As Glance names it in the objects' list (without the leading slash)."""


def _namespace(request: web.Request) -> str:
    return request.match_info["namespace"]


async def _dispatch(request: web.Request, command: Command) -> Namespace:
    namespace: Namespace = await request.app[BUS].dispatch(command, metadata_of(request))
    return namespace


# -- objects ---------------------------------------------------------------------------------


async def list_objects(request: web.Request) -> web.Response:
    reject_body(request)
    check_object_list(request.query)
    name = _namespace(request)
    view = await readable_namespace(request, name, namespace_not_found(name), "get_metadef_objects")
    found = await request.app[DATABASE].read(contents.objects_of, view.id)
    return web.json_response(
        {"objects": [object_json(name, o) for o in found], "schema": OBJECTS_SCHEMA}
    )


async def show_object(request: web.Request) -> web.Response:
    reject_body(request)
    name, object_name = _namespace(request), request.match_info["object_name"]
    view = await readable_namespace(request, name, namespace_not_found(name), "get_metadef_object")
    found = await request.app[DATABASE].read(contents.object_named, view.id, object_name)
    if found is None:
        raise object_not_found(object_name)
    return web.json_response(object_json(name, found))


async def create_object(request: web.Request) -> web.Response:
    definition = object_body(await json_object(request))
    name = _namespace(request)
    namespace = await _dispatch(request, CreateMetadefObject(namespace=name, definition=definition))
    made = contents.object_view(namespace.objects[definition.name])
    return web.json_response(object_json(name, made), status=201)


async def update_object(request: web.Request) -> web.Response:
    definition = object_body(await json_object(request))
    name = _namespace(request)
    command = UpdateMetadefObject(
        namespace=name, name=request.match_info["object_name"], definition=definition
    )
    namespace = await _dispatch(request, command)
    changed = contents.object_view(namespace.objects[definition.name])
    return web.json_response(object_json(name, changed))


async def delete_object(request: web.Request) -> web.Response:
    reject_body(request)
    command = DeleteMetadefObject(
        namespace=_namespace(request), name=request.match_info["object_name"]
    )
    await _dispatch(request, command)
    return web.Response(status=204)


# -- properties ------------------------------------------------------------------------------


async def list_properties(request: web.Request) -> web.Response:
    reject_body(request)
    name = _namespace(request)
    view = await readable_namespace(request, name, no_namespace(name), "get_metadef_properties")
    found = await request.app[DATABASE].read(contents.properties_of, view.id)
    return web.json_response(properties_json(found))


async def show_property(request: web.Request) -> web.Response:
    reject_body(request)
    name, property_name = _namespace(request), request.match_info["property_name"]
    view = await readable_namespace(request, name, no_namespace(name), "get_metadef_property")
    resource_type = request.query.get("resource_type")
    if resource_type:
        property_name = await _unprefixed(request, view.id, resource_type, property_name)
    found = await request.app[DATABASE].read(contents.property_named, view.id, property_name)
    if found is None:
        raise property_not_found(property_name)
    return web.json_response(property_json(found))


async def _unprefixed(
    request: web.Request, namespace_id: uuid.UUID, resource_type: str, name: str
) -> str:
    """The name of the property that `name` is under the prefix of the namespace's association
    with `resource_type` (asked for as a resource of that type sees it)."""
    found = await request.app[DATABASE].read(contents.associations_of, [namespace_id])
    association = next((a for a in found[namespace_id] if a.name == resource_type), None)
    if association is None:
        raise NotFound(
            f"The metadata definition resource-type with name={resource_type}, was not found."
        )
    prefix = association.prefix
    if not prefix:
        return name
    if not name.startswith(prefix):
        raise NotFound(
            f"Property {name} does not start with the expected resource type association prefix"
            f" of '{prefix}'."
        )
    return name[len(prefix) :]


async def create_property(request: web.Request) -> web.Response:
    definition = property_body(await json_object(request))
    command = CreateMetadefProperty(namespace=_namespace(request), definition=definition)
    namespace = await _dispatch(request, command)
    made = contents.property_view(namespace.properties[definition.name])
    return web.json_response(property_json(made), status=201)


async def update_property(request: web.Request) -> web.Response:
    definition = property_body(await json_object(request))
    command = UpdateMetadefProperty(
        namespace=_namespace(request),
        name=request.match_info["property_name"],
        definition=definition,
    )
    namespace = await _dispatch(request, command)
    changed = contents.property_view(namespace.properties[definition.name])
    return web.json_response(property_json(changed))


async def delete_property(request: web.Request) -> web.Response:
    reject_body(request)
    command = DeleteMetadefProperty(
        namespace=_namespace(request), name=request.match_info["property_name"]
    )
    await _dispatch(request, command)
    return web.Response(status=204)


# -- tags ------------------------------------------------------------------------------------


async def list_tags(request: web.Request) -> web.Response:
    reject_body(request)
    query = tag_list_query(request.query)
    name = _namespace(request)
    view = await readable_namespace(request, name, no_namespace(name), "get_metadef_tags")
    found = await request.app[DATABASE].read(contents.tags_of, view.id, query)
    return web.json_response({"tags": [{"name": t.name} for t in found]})


async def show_tag(request: web.Request) -> web.Response:
    reject_body(request)
    name, tag = _namespace(request), request.match_info["tag_name"]
    view = await readable_namespace(request, name, no_namespace(name), "get_metadef_tag")
    found = await request.app[DATABASE].read(contents.tag_named, view.id, tag)
    if found is None:
        raise tag_not_found(tag)
    return web.json_response(tag_json(found))


async def create_tag(request: web.Request) -> web.Response:
    reject_body(request)
    name = tag_name(request.match_info["tag_name"])
    namespace = await _dispatch(request, CreateMetadefTag(namespace=_namespace(request), name=name))
    return web.json_response(tag_json(contents.tag_view(namespace.tags[name])), status=201)


async def create_tags(request: web.Request) -> web.Response:
    names = tag_names(await json_object(request))
    command = CreateMetadefTags(
        namespace=_namespace(request),
        names=names,
        append=appending(request.headers.get("X-Openstack-Append")),
    )
    await _dispatch(request, command)
    return web.json_response({"tags": [{"name": n} for n in names]}, status=201)


async def update_tag(request: web.Request) -> web.Response:
    new_name = tag_rename(await json_object(request))
    command = UpdateMetadefTag(
        namespace=_namespace(request), name=request.match_info["tag_name"], new_name=new_name
    )
    namespace = await _dispatch(request, command)
    return web.json_response(tag_json(contents.tag_view(namespace.tags[new_name])))


async def delete_tag(request: web.Request) -> web.Response:
    reject_body(request)
    command = DeleteMetadefTag(namespace=_namespace(request), name=request.match_info["tag_name"])
    await _dispatch(request, command)
    return web.Response(status=204)


# -- resource type associations --------------------------------------------------------------


async def list_associations(request: web.Request) -> web.Response:
    reject_body(request)
    name = _namespace(request)
    view = await readable_namespace(request, name, no_namespace(name), "get_metadef_resource_type")
    found = await request.app[DATABASE].read(contents.associations_of, [view.id])
    return web.json_response(
        {"resource_type_associations": [association_json(a) for a in found[view.id]]}
    )


async def associate(request: web.Request) -> web.Response:
    association = association_body(await json_object(request))
    command = AssociateResourceType(namespace=_namespace(request), association=association)
    namespace = await _dispatch(request, command)
    made = namespace.associations[association.name]
    return web.json_response(association_json(contents.association_view(made)), status=201)


async def dissociate(request: web.Request) -> web.Response:
    reject_body(request)
    command = DissociateResourceType(
        namespace=_namespace(request), name=request.match_info["resource_type"]
    )
    await _dispatch(request, command)
    return web.Response(status=204)
