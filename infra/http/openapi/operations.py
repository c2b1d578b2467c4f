"""Every operation the API serves, described: keyed by method and path (`/v2/…`: every
version the server accepts routes alike), with its parameters, its request body and every
status it answers with. `document.py` walks the router and takes each route's description
from here, so a route without one cannot be served."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.http.openapi.components import ANY_OBJECT, Schema, ref
from infra.http.schemas import SERVED_SCHEMAS

JSON = "application/json"
OCTETS = "application/octet-stream"
PATCH_TYPES = (
    "application/openstack-images-v2.1-json-patch",
    "application/openstack-images-v2.0-json-patch",
)

OPEN_ERRORS = (400,)
"""What even the routes served to anyone may answer: unreadable identity headers or URL."""
READ_ERRORS = (400, 401, 403, 404, 503)
"""Any request may be refused: unreadable identity or URL (400), no valid token (401), the
policy (403), nothing there or not visible (404), the database or Keystone away (503)."""
WRITE_ERRORS = (*READ_ERRORS, 408, 409, 410, 413, 415)
"""A change may also have a body that stops arriving (408), meet the image's state (409, 410),
be too large (413) or of a type not taken (415)."""
UPLOAD_ERRORS = (*WRITE_ERRORS, 429)
"""Data may also find its project with as many uploads in progress as it may have (429)."""


@dataclass(frozen=True)
class Param:
    name: str
    where: str = "query"
    schema: Schema = field(default_factory=lambda: {"type": "string"})
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    answers: Mapping[int, Mapping[str, Schema] | None]
    """Each success status and its body (media type → schema), or None when it has none."""
    errors: tuple[int, ...] = READ_ERRORS
    params: tuple[Param, ...] = ()
    body: Mapping[str, Schema] | None = None
    body_required: bool = True
    description: str = ""
    answer_headers: dict[int, dict[str, Any]] = field(default_factory=dict)


def json_body(schema: Schema) -> dict[str, Schema]:
    return {JSON: schema}


def q(name: str, schema: Schema | None = None, description: str = "") -> Param:
    return Param(name, "query", schema or {"type": "string"}, description)


def header(name: str, description: str = "", schema: Schema | None = None) -> Param:
    return Param(name, "header", schema or {"type": "string"}, description)


PAGING = (
    q("limit", {"type": "integer", "minimum": 0}),
    q("marker", description="The last item of the previous page."),
)
IMAGE_FILTERS = (
    *PAGING,
    q("sort", description="keys and directions, e.g. name:asc,created_at:desc"),
    q("sort_key"),
    q("sort_dir", {"type": "string", "enum": ["asc", "desc"]}),
    q("name"),
    q("id"),
    q("status"),
    q(
        "visibility",
        {"type": "string", "enum": ["public", "private", "shared", "community", "all"]},
    ),
    q("member_status", {"type": "string", "enum": ["accepted", "pending", "rejected", "all"]}),
    q("owner"),
    q("tag"),
    q("os_hidden", {"type": "boolean"}),
    q("protected", {"type": "boolean"}),
    q("size_min", {"type": "integer", "minimum": 0}),
    q("size_max", {"type": "integer", "minimum": 0}),
    q("container_format"),
    q("disk_format"),
    q("checksum"),
    q("os_hash_algo"),
    q("os_hash_value"),
    q("created_at", description="a time with an operator, e.g. gte:2024-01-01T00:00:00Z"),
    q("updated_at", description="a time with an operator, e.g. lt:2024-01-01T00:00:00Z"),
)
AS_OF = q(
    "as_of",
    {"type": "string", "format": "date-time"},
    "The image as it was at this time, rebuilt from its events (the catalog's addition).",
)
STORE_HEADER = header("X-Image-Meta-Store", "The store to write into (the default one if absent).")
DATA = {OCTETS: {"type": "string", "format": "binary"}}
IMAGE = json_body(ref("image"))
NO_BODY: Mapping[int, None] = {204: None}
LOCATED = {201: {"Location": {"schema": {"type": "string"}}}}
"""A create's answer says where the new thing is."""

_TASK_FILTERS = (
    *PAGING,
    q("sort_key"),
    q("sort_dir", {"type": "string", "enum": ["asc", "desc"]}),
    q("type"),
    q("status"),
)
_NAMESPACE_FILTERS = (
    *PAGING,
    q("sort_key"),
    q("sort_dir", {"type": "string", "enum": ["asc", "desc"]}),
    q("visibility", {"type": "string", "enum": ["public", "private"]}),
    q("resource_types"),
)


def _discovery() -> dict[tuple[str, str], Operation]:
    versions = json_body(ref("versions"))
    schema_answer = json_body(ANY_OBJECT)
    info = "Information"
    return {
        ("GET", "/"): Operation(
            "The API versions (Glance answers 300 here)", "Versions", {300: versions}, OPEN_ERRORS
        ),
        ("GET", "/versions"): Operation(
            "The API versions", "Versions", {200: versions}, OPEN_ERRORS
        ),
        ("GET", "/v2"): Operation(
            "Redirects to /v2/",
            "Versions",
            {302: None},
            OPEN_ERRORS,
            answer_headers={302: {"Location": {"schema": {"type": "string"}}}},
        ),
        **{
            ("GET", f"/v2/schemas/{name}"): Operation(
                f"Glance's JSON schema of {name}", "Schemas", {200: schema_answer}
            )
            for name in SERVED_SCHEMAS
        },
        ("GET", "/v2/info/import"): Operation(
            "Import methods", info, {200: json_body(ref("import_info"))}
        ),
        ("GET", "/v2/info/usage"): Operation(
            "The caller's quota usage", info, {200: json_body(ref("usage_info"))}
        ),
        ("GET", "/v2/info/stores"): Operation(
            "The stores", info, {200: json_body(ref("stores_info"))}
        ),
        ("GET", "/v2/info/stores/detail"): Operation(
            "The stores with their drivers (admins)", info, {200: json_body(ref("stores_info"))}
        ),
        ("GET", "/openapi.json"): Operation(
            "This description (OpenAPI 3.1)",
            "Description",
            {200: json_body(ANY_OBJECT)},
            OPEN_ERRORS,
        ),
        ("GET", "/metrics"): Operation(
            "Prometheus metrics (who may read them: CATALOG_METRICS_*)",
            "Operations",
            {200: {"text/plain": {"type": "string"}}},
            (*OPEN_ERRORS, 401, 403, 503),
        ),
    }


def _healthcheck() -> Operation:
    answer = {"text/plain": {"type": "string"}, JSON: ANY_OBJECT, "text/html": {"type": "string"}}
    return Operation(
        "oslo.middleware's health check (any method; HEAD and GET are what balancers use)",
        "Operations",
        {200: answer, 204: None},
        (*OPEN_ERRORS, 503),
        description="503 while the database is away or the disable file exists.",
    )


def _console() -> dict[tuple[str, str], Operation]:
    """The web console's files: not API calls, but served, so described (infra/http/console)."""
    tag = "Console"
    page = {"text/html": {"type": "string"}}
    shipped = {kind: {"type": "string"} for kind in ("text/html", "text/javascript", "text/css")}
    signed_in = {
        "type": "object",
        "required": ["token", "expires_at", "user", "project", "roles"],
        "properties": {
            "token": {"type": "string"},
            "expires_at": {"type": "string"},
            "user": ANY_OBJECT,
            "project": ANY_OBJECT,
            "roles": {"type": "array", "items": {"type": "string"}},
        },
    }
    config = {
        "type": "object",
        "required": ["auth_mode", "keystone_url"],
        "properties": {
            "auth_mode": {"type": "string", "enum": ["noauth", "trusted-headers", "keystone"]},
            "keystone_url": {"type": ["string", "null"]},
        },
    }
    return {
        ("GET", "/console"): Operation(
            "Redirects to /console/",
            tag,
            {301: None},
            OPEN_ERRORS,
            answer_headers={301: {"Location": {"schema": {"type": "string"}}}},
        ),
        ("GET", "/console/"): Operation("The web console", tag, {200: page}, OPEN_ERRORS),
        ("GET", "/console/{name}"): Operation(
            "One of the web console's files", tag, {200: shipped}, (*OPEN_ERRORS, 404)
        ),
        ("GET", "/console/config.json"): Operation(
            "How the console's callers sign in", tag, {200: json_body(config)}, OPEN_ERRORS
        ),
        ("POST", "/console/sign-in"): Operation(
            "A Keystone token for a user's name, password and project (auth mode keystone)",
            tag,
            {201: json_body(signed_in)},
            (*OPEN_ERRORS, 401, 404, 413, 503),
            body=json_body(ANY_OBJECT),
            description="404 unless the catalog authenticates with Keystone.",
        ),
    }


def _images() -> dict[tuple[str, str], Operation]:
    one = "/v2/images/{image_id}"
    return {
        ("GET", "/v2/images"): Operation(
            "List images", "Images", {200: json_body(ref("images"))}, params=IMAGE_FILTERS
        ),
        ("POST", "/v2/images"): Operation(
            "Create an image",
            "Images",
            {201: IMAGE},
            WRITE_ERRORS,
            body=json_body(ANY_OBJECT),
            answer_headers=LOCATED,
        ),
        ("GET", one): Operation(
            "Show an image, now or `as_of` a past time", "Images", {200: IMAGE}, params=(AS_OF,)
        ),
        ("PATCH", one): Operation(
            "Update an image (JSON patch)",
            "Images",
            {200: IMAGE},
            WRITE_ERRORS,
            body={kind: ref("json_patch") for kind in PATCH_TYPES},
        ),
        ("DELETE", one): Operation("Delete an image", "Images", NO_BODY, WRITE_ERRORS),
        ("GET", one + "/history"): Operation(
            "The image's events from the log (the catalog's addition)",
            "History",
            {200: json_body(ref("history"))},
            params=(
                q("limit", {"type": "integer", "minimum": 1}),
                q(
                    "marker",
                    {"type": "integer", "minimum": 0},
                    "The position after which to go on.",
                ),
                q("include", description="downloads: the image.data_sent records too"),
            ),
        ),
        ("GET", one + "/tasks"): Operation(
            "The image's tasks", "Tasks", {200: json_body(ref("image_tasks"))}
        ),
        ("PUT", one + "/file"): Operation(
            "Upload the image's data",
            "Image data",
            NO_BODY,
            UPLOAD_ERRORS,
            params=(
                STORE_HEADER,
                header("x-openstack-image-size", schema={"type": "integer", "minimum": 0}),
            ),
            body=DATA,
        ),
        ("GET", one + "/file"): Operation(
            "Download the image's data (whole, or one range); 204 when it has none",
            "Image data",
            {200: DATA, 206: DATA, 204: None},
            (*READ_ERRORS, 416),
            params=(
                header("Range"),
                q("prefer", description="stores to read from first, comma-separated"),
            ),
        ),
        ("PUT", one + "/stage"): Operation(
            "Stage data for a glance-direct import",
            "Image data",
            NO_BODY,
            UPLOAD_ERRORS,
            params=(header("x-openstack-image-size", schema={"type": "integer", "minimum": 0}),),
            body=DATA,
        ),
        ("POST", one + "/import"): Operation(
            "Import data into the image (glance-direct, web-download, copy-image, glance-download)",
            "Import",
            {202: None},
            WRITE_ERRORS,
            params=(STORE_HEADER, header("X-Image-Meta-Stores"), header("X-Image-Meta-All-Stores")),
            body=json_body(ANY_OBJECT),
        ),
        ("POST", one + "/locations"): Operation(
            "Add a location (services)",
            "Locations",
            {202: None},
            WRITE_ERRORS,
            body=json_body(ANY_OBJECT),
        ),
        ("GET", one + "/locations"): Operation(
            "The image's locations (admins, services)",
            "Locations",
            {200: json_body(ref("locations"))},
        ),
        ("DELETE", "/v2/stores/{store_id}/{image_id}"): Operation(
            "Remove the image's data from one store", "Stores", NO_BODY, WRITE_ERRORS
        ),
        ("PUT", one + "/tags/{tag_value}"): Operation("Add a tag", "Tags", NO_BODY, WRITE_ERRORS),
        ("DELETE", one + "/tags/{tag_value}"): Operation(
            "Remove a tag", "Tags", NO_BODY, WRITE_ERRORS
        ),
        ("POST", one + "/actions/deactivate"): Operation(
            "Deactivate", "Actions", NO_BODY, WRITE_ERRORS
        ),
        ("POST", one + "/actions/reactivate"): Operation(
            "Reactivate", "Actions", NO_BODY, WRITE_ERRORS
        ),
        ("POST", one + "/actions/restore"): Operation(
            "Restore an image pending deletion (the catalog's addition)",
            "Actions",
            NO_BODY,
            WRITE_ERRORS,
        ),
    }


def _members() -> dict[tuple[str, str], Operation]:
    all_of = "/v2/images/{image_id}/members"
    one = all_of + "/{member_id}"
    member = json_body(ref("member"))
    return {
        ("GET", all_of): Operation("List members", "Members", {200: json_body(ref("members"))}),
        ("POST", all_of): Operation(
            "Share with a project",
            "Members",
            {200: member},
            WRITE_ERRORS,
            body=json_body(
                {
                    "type": "object",
                    "required": ["member"],
                    "properties": {"member": {"type": "string"}},
                }
            ),
        ),
        ("GET", one): Operation("Show a member", "Members", {200: member}),
        ("PUT", one): Operation(
            "Accept or reject a share",
            "Members",
            {200: member},
            WRITE_ERRORS,
            body=json_body(
                {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string"}},
                }
            ),
        ),
        ("DELETE", one): Operation("Stop sharing", "Members", NO_BODY, WRITE_ERRORS),
    }


def _tasks() -> dict[tuple[str, str], Operation]:
    task = json_body(ref("task"))
    return {
        ("GET", "/v2/tasks"): Operation(
            "List tasks", "Tasks", {200: json_body(ref("tasks"))}, params=_TASK_FILTERS
        ),
        ("POST", "/v2/tasks"): Operation(
            "Create a task (import)",
            "Tasks",
            {201: task},
            WRITE_ERRORS,
            body=json_body(ANY_OBJECT),
            answer_headers=LOCATED,
        ),
        ("GET", "/v2/tasks/{task_id}"): Operation("Show a task", "Tasks", {200: task}),
        ("DELETE", "/v2/tasks/{task_id}"): Operation(
            "Tasks cannot be deleted (405, as Glance)", "Tasks", {}, (*READ_ERRORS, 405)
        ),
    }


def _cache() -> dict[tuple[str, str], Operation]:
    one = "/v2/cache/{image_id}"
    return {
        ("GET", "/v2/cache"): Operation(
            "The node's cache", "Cache", {200: json_body(ref("cache_state"))}
        ),
        ("DELETE", "/v2/cache"): Operation(
            "Empty the cache (or its queue)",
            "Cache",
            NO_BODY,
            WRITE_ERRORS,
            params=(
                header(
                    "x-image-cache-clear-target",
                    schema={"type": "string", "enum": ["cache", "queue", "both"]},
                ),
            ),
        ),
        ("POST", "/v2/cache/clean"): Operation(
            "Clean invalid and stalled entries",
            "Cache",
            {200: json_body(ref("cache_cleaned"))},
            WRITE_ERRORS,
        ),
        ("POST", "/v2/cache/prune"): Operation(
            "Prune to the size limit", "Cache", {200: json_body(ref("cache_pruned"))}, WRITE_ERRORS
        ),
        ("PUT", one): Operation("Queue an image for caching", "Cache", {202: None}, WRITE_ERRORS),
        ("DELETE", one): Operation(
            "Remove an image from the cache", "Cache", NO_BODY, WRITE_ERRORS
        ),
    }


def _metadefs() -> dict[tuple[str, str], Operation]:
    ns = "/v2/metadefs/namespaces"
    one = ns + "/{namespace}"
    tag = "Metadata definitions"

    def schema_of(name: str) -> dict[str, Schema]:
        return json_body(ref(f"metadefs_{name}"))

    body = json_body(ANY_OBJECT)

    def crud(path: str, kind: str, plural: str) -> dict[tuple[str, str], Operation]:
        item = path + "/{" + f"{kind}_name" + "}"
        return {
            ("GET", path): Operation(
                f"List the namespace's {plural}", tag, {200: schema_of(plural)}
            ),
            ("POST", path): Operation(
                f"Create a {kind}", tag, {201: schema_of(kind)}, WRITE_ERRORS, body=body
            ),
            ("DELETE", path): Operation(
                f"Delete every {kind} of the namespace", tag, NO_BODY, WRITE_ERRORS
            ),
            ("GET", item): Operation(f"Show a {kind}", tag, {200: schema_of(kind)}),
            ("PUT", item): Operation(
                f"Update a {kind}", tag, {200: schema_of(kind)}, WRITE_ERRORS, body=body
            ),
            ("DELETE", item): Operation(f"Delete a {kind}", tag, NO_BODY, WRITE_ERRORS),
        }

    tags = crud(one + "/tags", "tag", "tags")
    tags[("POST", one + "/tags")] = Operation(
        "Create tags (append, or replace all)",
        tag,
        {201: schema_of("tags")},
        WRITE_ERRORS,
        params=(header("X-Openstack-Append", schema={"type": "boolean"}),),
        body=body,
    )
    tags[("POST", one + "/tags/{tag_name}")] = Operation(
        "Create a tag", tag, {201: schema_of("tag")}, WRITE_ERRORS
    )
    return {
        ("GET", "/v2/metadefs/resource_types"): Operation(
            "List resource types", tag, {200: schema_of("resource_types")}
        ),
        ("GET", ns): Operation(
            "List namespaces", tag, {200: schema_of("namespaces")}, params=_NAMESPACE_FILTERS
        ),
        ("POST", ns): Operation(
            "Create a namespace", tag, {201: schema_of("namespace")}, WRITE_ERRORS, body=body
        ),
        ("GET", one): Operation(
            "Show a namespace",
            tag,
            {200: schema_of("namespace")},
            params=(
                q("resource_type", description="show properties with this resource type's prefix"),
            ),
        ),
        ("PUT", one): Operation(
            "Update a namespace", tag, {200: schema_of("namespace")}, WRITE_ERRORS, body=body
        ),
        ("DELETE", one): Operation("Delete a namespace", tag, NO_BODY, WRITE_ERRORS),
        **crud(one + "/objects", "object", "objects"),
        **crud(one + "/properties", "property", "properties"),
        **tags,
        ("GET", one + "/resource_types"): Operation(
            "The namespace's resource type associations", tag, {200: schema_of("resource_types")}
        ),
        ("POST", one + "/resource_types"): Operation(
            "Associate a resource type",
            tag,
            {201: schema_of("resource_type")},
            WRITE_ERRORS,
            body=body,
        ),
        ("DELETE", one + "/resource_types/{resource_type}"): Operation(
            "Dissociate a resource type", tag, NO_BODY, WRITE_ERRORS
        ),
    }


def operations() -> dict[tuple[str, str], Operation]:
    return {
        **_discovery(),
        **_console(),
        **_images(),
        **_members(),
        **_tasks(),
        **_cache(),
        **_metadefs(),
    }


HEALTHCHECK = _healthcheck()
"""Served for any method: described for each method OpenAPI names."""
