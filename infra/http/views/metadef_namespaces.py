"""/v2/metadefs/namespaces[/{namespace}]: metadata definitions namespaces, listed, created,
shown with what they hold, changed and deleted; and /v2/metadefs/resource_types."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from catalog.commands.create_metadef_namespace import CreateMetadefNamespace
from catalog.commands.delete_metadef_namespace import (
    DeleteMetadefContents,
    DeleteMetadefNamespace,
)
from catalog.commands.metadef_access import NO_NAMESPACES, namespace_not_found
from catalog.commands.update_metadef_namespace import UpdateMetadefNamespace
from catalog.errors import NotFound
from catalog.metadefs.namespace import Namespace
from catalog.queries import metadef_contents as contents
from catalog.queries import metadef_namespaces as namespaces
from catalog.queries.keyset import MarkerNotFound
from catalog.queries.metadef_namespaces import NamespaceView
from infra.http.identity import metadata_of
from infra.http.keys import BUS, DATABASE, POLICY
from infra.http.metadef_json import (
    NAMESPACES,
    namespace_href,
    namespace_json,
    resource_type_json,
)
from infra.http.metadef_requests import namespace_definition, namespace_fields, namespace_list_query
from infra.http.origin import public_url
from infra.http.requests import json_object, reject_body


async def readable_namespace(
    request: web.Request, name: str, missing: str, *rules: str
) -> NamespaceView:
    """The namespace called `name` if the caller may see it and do `rules` with it (404
    `missing` if it is not there for them, 403 if a rule refuses)."""
    view = await request.app[DATABASE].read(namespaces.find_namespace, name)
    if view is None:
        raise NotFound(missing)
    access = request.app[POLICY].metadef(metadata_of(request).actor, view, missing=missing)
    access.enforce("get_metadef_namespace", *rules)
    return view


def _name(request: web.Request) -> str:
    return request.match_info["namespace"]


async def index(request: web.Request) -> web.Response:
    reject_body(request)
    query = namespace_list_query(request.query)
    policy, actor = request.app[POLICY], metadata_of(request).actor
    policy.metadef(actor, None, missing=NO_NAMESPACES).enforce("get_metadef_namespaces")
    try:
        page = await request.app[DATABASE].read(
            namespaces.list_namespaces, policy.viewer(actor), query
        )
    except MarkerNotFound as e:
        raise NotFound(namespace_not_found(str(e))) from e
    shown = policy.shown_namespaces(actor, page)
    associations = await request.app[DATABASE].read(
        contents.associations_of, [view.id for view in shown]
    )
    params = {k: v for k, v in request.query.items() if k != "marker"}
    first = f"{NAMESPACES}?{urlencode(params)}" if params else NAMESPACES
    listed: dict[str, object] = {
        "namespaces": [namespace_json(view, associations[view.id]) for view in shown],
    }
    if len(page) == query.limit and page:
        listed["next"] = f"{NAMESPACES}?{urlencode({**params, 'marker': page[-1].namespace})}"
    listed["schema"] = "/v2/schemas/metadefs/namespaces"
    listed["first"] = first
    return web.json_response(listed)


async def create(request: web.Request) -> web.Response:
    command = CreateMetadefNamespace(definition=namespace_definition(await json_object(request)))
    namespace: Namespace = await request.app[BUS].dispatch(command, metadata_of(request))
    made = contents.contents_of_namespace(namespace)
    view = namespaces.view_of_namespace(namespace)
    return web.json_response(
        namespace_json(view, made.associations, made),
        status=201,
        headers={"Location": public_url(request, namespace_href(namespace.name))},
    )


async def show(request: web.Request) -> web.Response:
    reject_body(request)
    name = _name(request)
    view = await readable_namespace(request, name, namespace_not_found(name))
    held = await request.app[DATABASE].read(contents.contents_of, view.id)
    resource_type = request.query.get("resource_type")
    if resource_type:
        held = contents.prefixed(held, contents.prefix_for(held.associations, resource_type))
    return web.json_response(namespace_json(view, held.associations, held))


async def update(request: web.Request) -> web.Response:
    command = UpdateMetadefNamespace(
        name=_name(request), fields=namespace_fields(await json_object(request))
    )
    namespace: Namespace = await request.app[BUS].dispatch(command, metadata_of(request))
    return web.json_response(namespace_json(namespaces.view_of_namespace(namespace)))


async def delete(request: web.Request) -> web.Response:
    reject_body(request)
    await request.app[BUS].dispatch(
        DeleteMetadefNamespace(name=_name(request)), metadata_of(request)
    )
    return web.Response(status=204)


async def delete_objects(request: web.Request) -> web.Response:
    return await _delete_contents(request, "objects")


async def delete_properties(request: web.Request) -> web.Response:
    return await _delete_contents(request, "properties")


async def delete_tags(request: web.Request) -> web.Response:
    return await _delete_contents(request, "tags")


async def _delete_contents(request: web.Request, kind: str) -> web.Response:
    reject_body(request)
    command = DeleteMetadefContents.model_validate({"name": _name(request), "contents": kind})
    await request.app[BUS].dispatch(command, metadata_of(request))
    return web.Response(status=204)


async def resource_types(request: web.Request) -> web.Response:
    """Every resource type a namespace was ever associated with."""
    reject_body(request)
    actor = metadata_of(request).actor
    access = request.app[POLICY].metadef(actor, None, missing=NO_NAMESPACES)
    access.enforce("list_metadef_resource_types")
    found = await request.app[DATABASE].read(contents.resource_types)
    return web.json_response({"resource_types": [resource_type_json(t) for t in found]})
