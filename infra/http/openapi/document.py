"""The description built from the router itself: every route is described (a route without a
description stops the application from being made) and nothing else is."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from infra.http.openapi import OPENAPI_PATH
from infra.http.openapi.components import Schema, components, ref
from infra.http.openapi.operations import HEALTHCHECK, Operation, Param, operations
from infra.http.views import healthcheck

OPENAPI_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
"""The methods a path item can describe: a route for any method (`*`) is described for each."""
VERSION_PREFIX = "/{version}"
PATH_PARAMETER = re.compile(r"{([^}]+)}")

_HTML = {"schema": {"type": "string"}}
_UNAUTHORIZED: Schema = {
    "type": "object",
    "description": "keystonemiddleware's answer without a valid token",
    "properties": {"error": {"type": "object"}},
}


IDENTITY_HEADERS = {
    "X-Project-Id": "The caller's project (auth modes trusted-headers and noauth).",
    "X-User-Id": "The caller (trusted-headers, noauth).",
    "X-Roles": "The caller's roles, comma-separated (trusted-headers, noauth).",
    "X-OpenStack-Request-ID": "The caller's own request id (`req-<uuid>`), recorded beside "
    "the catalog's.",
}
"""Headers every operation reads: who is asking, as a gateway in front says (in `keystone`
mode the token says it instead)."""


class Undescribed(Exception):
    """A route the description does not describe."""


def described_path(template: str) -> str:
    """`/{version}/images` → `/v2/images`: every accepted version routes alike."""
    if template.startswith(VERSION_PREFIX):
        return "/v2" + template.removeprefix(VERSION_PREFIX)
    return template


def routes_of(router: web.UrlDispatcher) -> Iterator[tuple[str, str]]:
    """Each (method, described path) the router serves."""
    for route in router.routes():
        resource = route.resource
        if resource is None:
            continue
        path = described_path(resource.canonical)
        methods = OPENAPI_METHODS if route.method == "*" else (route.method,)
        for method in methods:
            yield method, path


def _parameter(param: Param) -> dict[str, Any]:
    found: dict[str, Any] = {"name": param.name, "in": param.where, "schema": param.schema}
    if param.description:
        found["description"] = param.description
    if param.required:
        found["required"] = True
    return found


def _content(body: Mapping[str, Schema]) -> dict[str, Any]:
    return {kind: {"schema": schema} for kind, schema in body.items()}


def _error(status: int) -> dict[str, Any]:
    described: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": ref("error")}, "text/html": _HTML},
    }
    if status == 401:
        described["content"]["application/json"] = {"schema": _UNAUTHORIZED}
    if status == 503:
        described["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return described


def _responses(operation: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, body in operation.answers.items():
        answer: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if body is not None:
            answer["content"] = _content(body)
        if status in operation.answer_headers:
            answer["headers"] = operation.answer_headers[status]
        responses[str(status)] = answer
    for status in operation.errors:
        responses[str(status)] = _error(status)
    return responses


def _operation(operation: Operation, method: str, path: str) -> dict[str, Any]:
    in_path = [Param(name, "path", required=True) for name in PATH_PARAMETER.findall(path)]
    described: dict[str, Any] = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}",
        "summary": operation.summary,
        "tags": [operation.tag],
        "responses": _responses(operation),
    }
    if operation.description:
        described["description"] = operation.description
    parameters = [*in_path, *operation.params]
    described["parameters"] = [
        *(_parameter(p) for p in parameters),
        *({"$ref": f"#/components/parameters/{name}"} for name in IDENTITY_HEADERS),
    ]
    if operation.body is not None:
        described["requestBody"] = {
            "required": operation.body_required,
            "content": _content(operation.body),
        }
    return described


def openapi_document(router: web.UrlDispatcher) -> dict[str, Any]:
    """The description of every route of `router`; `Undescribed` names a route it lacks."""
    described = operations()
    paths: dict[str, dict[str, Any]] = {}
    for method, path in routes_of(router):
        operation = HEALTHCHECK if path == healthcheck.PATH else described.get((method, path))
        if operation is None:
            raise Undescribed(f"{method} {path} has no description in infra/http/openapi/")
        paths.setdefault(path, {})[method.lower()] = _operation(operation, method, path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Image catalog: the OpenStack Image API v2, with history",
            "version": "2",
            "description": "Glance's Image API v2 (every version the versions document lists "
            "routes alike: /v2.9/images is /v2/images), and the catalog's additions: an image's "
            "events (`/history`), an image as it was (`?as_of=`), restoring an image pending "
            "deletion (`/actions/restore`), metrics.",
        },
        "paths": paths,
        "components": {
            "schemas": components(),
            "parameters": {
                name: {
                    "name": name,
                    "in": "header",
                    "description": text,
                    "schema": {"type": "string"},
                }
                for name, text in IDENTITY_HEADERS.items()
            },
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
            },
        },
        "security": [{"token": []}, {}],
    }


OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict)


async def description(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_DOCUMENT])


def add_description(app: web.Application) -> None:
    """Serve the description of every route added so far, and of its own route."""
    app.router.add_get(OPENAPI_PATH, description, allow_head=False)
    app[OPENAPI_DOCUMENT] = openapi_document(app.router)
