"""Generated bad input on every route: each request is refused cleanly, on both databases.

The walk visits every route the application registers (`infra/http/app.py`) and, on each,
every place the route reads input: its path parameters, the query parameters it knows, the
headers it reads, the identity headers every request carries, and its body (also where none is
expected). At each place it sends values of general hostile classes, drawn by hypothesis with
a fixed seed (so the same requests go out on every run):

- text holding a NUL (no PostgreSQL text can hold one, so the embedded catalog must refuse it
  too), a lone UTF-16 surrogate (a valid JSON escape that no UTF-8 can carry), or more than
  the 255 characters Glance allows where it has that limit;
- integers beyond 64 bits, and beyond 32 bits for `min_ram` and `min_disk` (Glance's columns);
  numbers written with 20 to 6,000 digits;
- JSON nested a thousand to a hundred thousand deep;
- bytes that are not UTF-8: in bodies, in headers, and percent-encoded in paths (where they
  would otherwise be read as U+FFFD, which is not what the client sent).

A request holding such a value where the route reads it must be refused: a 4xx with a
Glance-style body, no event appended to the log, no byte left in a store. Only the documents
that are the same for everyone (versions, schemas, import methods, stores) need not read the
identity headers, so they may answer a malformed one. A few reads take values that are odd
but not wrong (`?id=in:<uuid>`, a `limit` of 40 digits): those may be answered either way,
but never with a 5xx.

Requests name images that exist, all owned by proj-a: {queued}, {active} (with data) and
{shared} (with data, shared with proj-b, who accepted). They are sent as proj-a, proj-b, an
admin or a service, so that they reach the code behind the 404s. They go out as raw bytes over
a socket, since HTTP clients refuse to send some of them.

The whole walk runs, then the test fails naming each kind of failure once, with the first
request that showed it; sent again to such images, that request shows it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import itertools
import json
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs
from structlog.typing import EventDict

from catalog.events import ImageDataSent
from infra.bootstrap import Container
from infra.db.tables import event
from infra.http.list_params import BOOLEANS, EQUAL, IN_OR_EQUAL, NOT_FILTERS, NUMBERS, TIMES
from infra.http.schemas import SERVED_SCHEMAS
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    PROJECT_B,
    ApiClient,
    created_image_id,
    stored_files,
    uploaded_image_id,
)

Strategy = st.SearchStrategy

# --- Hostile values ----------------------------------------------------------------------------

# Text of any script, as callers send it; the classes below add what no text may hold.
ordinary_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)


def holding(char: str) -> Strategy[str]:
    """Ordinary text with `char` somewhere in it."""
    return st.builds(lambda before, after: before + char + after, ordinary_text, ordinary_text)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


nul_text = holding("\x00")
surrogate_text = st.integers(0xD800, 0xDFFF).map(chr).flatmap(holding)
overlong_text = st.integers(256, 2048).map("n".__mul__)
# Bytes with the high bit set that are not UTF-8: a lone continuation byte, a cut sequence, ...
not_utf8 = (
    st.binary(min_size=1, max_size=4)
    .map(lambda data: bytes(0x80 | byte for byte in data))
    .filter(lambda data: not _is_utf8(data))
)
beyond_int64 = st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1))
beyond_int32 = st.integers(min_value=2**31, max_value=2**63 - 1)
# Numbers as text: past 64 bits, and past the 4,300 digits Python parses by default.
twenty_digits = st.integers(20, 60).map("9".__mul__)
thousands_of_digits = st.integers(4_400, 6_000).map("9".__mul__)
depth = st.integers(min_value=1_000, max_value=100_000)


@dataclass(frozen=True)
class Raw:
    """Bytes put into a JSON body as they are, where no JSON encoder would write them."""

    data: bytes


def encoded(value: Any) -> bytes:
    """`value` as JSON, with `Raw` parts as they are."""
    if isinstance(value, Raw):
        return value.data
    if isinstance(value, dict):
        members = (encoded(key) + b": " + encoded(item) for key, item in value.items())
        return b"{" + b", ".join(members) + b"}"
    if isinstance(value, list):
        return b"[" + b", ".join(encoded(item) for item in value) + b"]"
    return json.dumps(value).encode()


nested = depth.map(lambda n: Raw(b"[" * n + b"]" * n))
unclosed = depth.map(lambda n: Raw(b"[" * n))
not_utf8_string = not_utf8.map(lambda data: Raw(b'"' + data + b'"'))

# The classes each kind of place takes, by name (the name shows in failures).
Classes = Mapping[str, Strategy[Any]]
JSON_TEXT: Classes = {
    "NUL": nul_text,
    "lone surrogate": surrogate_text,
    "bytes not UTF-8": not_utf8_string,
    "deep nesting": nested,
}
JSON_KEY: Classes = {
    "NUL": nul_text,
    "lone surrogate": surrogate_text,
    "bytes not UTF-8": not_utf8_string,
    "over 255 characters": overlong_text,
}
JSON_NAME: Classes = {**JSON_TEXT, "over 255 characters": overlong_text}
JSON_COUNT: Classes = {
    "beyond 64 bits": beyond_int64,
    "beyond 32 bits": beyond_int32,
    "thousands of digits": thousands_of_digits.map(lambda digits: Raw(digits.encode())),
    "deep nesting": nested,
}
WHOLE_BODY: Classes = {
    "deep nesting": nested,
    "unclosed deep nesting": unclosed,
    "bytes not UTF-8": not_utf8_string,
}
URL_TEXT: Classes = {"NUL": nul_text}
# In a path, bytes that are not UTF-8 (percent-encoded) would be read as U+FFFD: not what was sent.
URL_NAME: Classes = {**URL_TEXT, "over 255 characters": overlong_text, "bytes not UTF-8": not_utf8}
URL_NUMBER: Classes = {
    "NUL": nul_text,
    "20 digits and more": twenty_digits,
    "thousands of digits": thousands_of_digits,
}
IMAGE_ID: Classes = {**URL_NUMBER, "bytes not UTF-8": not_utf8}  # every one names no image


def header_classes(ordinary: bytes, *, numbers: bytes | None = None) -> Classes:
    """`ordinary` followed by bytes that are not UTF-8; with `numbers` (text holding `{n}`), also
    that text with long numbers in place of `{n}`."""
    classes: dict[str, Strategy[Any]] = {"bytes not UTF-8": not_utf8.map(ordinary.__add__)}
    if numbers is not None:
        template = numbers
        for name, digits in (
            ("20 digits and more", twenty_digits),
            ("thousands of digits", thousands_of_digits),
        ):
            classes[name] = digits.map(lambda n: template.replace(b"{n}", n.encode()))
    return classes


# --- Requests ----------------------------------------------------------------------------------

CALLERS: Mapping[str, Mapping[str, str]] = {
    "owner": PROJECT_A,
    "member": PROJECT_B,
    "admin": ADMIN,
    "service": {"X-Project-Id": "svc", "X-User-Id": "glance", "X-Roles": "admin,service"},
}
IMAGES = ("queued", "active", "shared")
PLACEHOLDERS = {"{" + name + "}" for name in (*IMAGES, "namespace")}
IDENTITY_HEADERS = ("X-Project-Id", "X-User-Id", "X-Roles", "X-Tenant-Id")


@dataclass(frozen=True)
class Draft:
    """A request being built: path parameters, query, headers and body (a JSON value, or bytes
    as they are, or None)."""

    params: Mapping[str, str | bytes]
    headers: Mapping[str, bytes]
    query: tuple[tuple[str, str | bytes], ...] = ()
    body: Any = None

    def with_param(self, name: str, value: str | bytes) -> Draft:
        return replace(self, params={**self.params, name: value})

    def with_header(self, name: str, value: bytes) -> Draft:
        return replace(self, headers={**self.headers, name: value})

    def with_query(self, name: str, value: str | bytes) -> Draft:
        return replace(self, query=(*self.query, (name, value)))


@dataclass(frozen=True)
class Place:
    """Where a route reads input, what is sent there, and what it must get."""

    where: str
    put: Callable[[Draft, Any], Draft]
    classes: Classes
    must_refuse: bool = True
    callers: tuple[str, ...] = ()
    """Who sends it, when it matters (e.g. only an admin may set any owner)."""


def in_path(name: str, classes: Classes) -> Place:
    return Place(f"path {name}", lambda draft, value: draft.with_param(name, value), classes)


def in_query(name: str, classes: Classes, *, must_refuse: bool = True) -> Place:
    def put(draft: Draft, value: Any) -> Draft:
        return draft.with_query(name, value)

    return Place(f"query {name}", put, classes, must_refuse)


def in_header(name: str, classes: Classes) -> Place:
    return Place(f"header {name}", lambda draft, value: draft.with_header(name, value), classes)


def in_body(
    where: str, build: Callable[[Any], Any], classes: Classes, callers: tuple[str, ...] = ()
) -> Place:
    def put(draft: Draft, value: Any) -> Draft:
        return replace(draft, body=build(value))

    return Place(f"body {where}".strip(), put, classes, callers=callers)


def with_identity(draft: Draft, choice: tuple[str, bytes]) -> Draft:
    """One identity header followed by bytes that are not UTF-8 (X-Tenant-Id in place of
    X-Project-Id, as older clients send it)."""
    header, garbage = choice
    headers = dict(draft.headers)
    if header == "X-Tenant-Id":
        headers[header] = headers.pop("X-Project-Id")
    headers[header] += garbage
    return replace(draft, headers=headers)


IDENTITY = Place(
    "identity header",
    with_identity,
    {"bytes not UTF-8": st.tuples(st.sampled_from(IDENTITY_HEADERS), not_utf8)},
)
A_BODY = in_body("where none is expected", bytes, {"any bytes": st.binary(min_size=1)})
WHOLE = in_body("", lambda value: value, WHOLE_BODY)


@dataclass(frozen=True)
class Probe:
    """One request of the walk, ready to send once its placeholders are named."""

    route: str
    where: str
    hostile: str
    must_refuse: bool
    method: str
    target: str
    headers: tuple[tuple[str, bytes], ...]
    body: bytes | None

    def request(self, names: Mapping[str, str]) -> bytes:
        """The raw request, with `{queued}`-style placeholders replaced by `names`."""
        target, body = self.target.encode(), self.body
        for name, value in names.items():
            placeholder = b"{" + name.encode() + b"}"
            target = target.replace(placeholder, value.encode())
            body = body.replace(placeholder, value.encode()) if body is not None else None
        lines = [self.method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1"]
        lines += [b"Connection: close", b"Accept: application/json"]
        lines += [name.encode() + b": " + value for name, value in self.headers]
        if body is not None:
            lines.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def percent_encoded(value: str | bytes) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class Route:
    """A route of the API, the ordinary request it takes, and the places it reads input."""

    method: str
    path: str
    """As the router names it: `/{version}/images/{image_id}/tags/{tag_value}`."""
    callers: tuple[str, ...] = ("owner",)
    images: tuple[str, ...] = IMAGES
    """What `{image_id}` may name."""
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, bytes] = field(default_factory=dict)
    body: Any = None
    places: tuple[Place, ...] = ()
    refuses_body: bool = True
    """Whether a body where none is expected is refused (a few routes ignore it, as Glance)."""
    for_everyone: bool = False
    """Whether it answers the same to everyone (versions, schemas): it need not read the
    identity headers, so it may answer a malformed one."""
    sent_as: str | None = None
    """The method sent to a route that takes any (`*`)."""

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def all_places(self) -> Iterator[Place]:
        yield replace(IDENTITY, must_refuse=not self.for_everyone)
        if "{image_id}" in self.path:
            yield in_path("image_id", IMAGE_ID)
        if self.body is None and self.refuses_body:
            yield A_BODY
        yield from self.places

    def probes(self, place: Place, hostile: str) -> Strategy[Probe]:
        def probe(image: str, caller: str, value: Any) -> Probe:
            image_id = {"image_id": "{" + image + "}"} if image else {}
            ordinary = Draft(
                params={"version": "v2", **image_id, **self.params},
                headers={**{k: v.encode() for k, v in CALLERS[caller].items()}, **self.headers},
                body=self.body,
            )
            return self._probe(place, hostile, place.put(ordinary, value))

        return st.builds(
            probe,
            st.sampled_from(self.images or ("",)),
            st.sampled_from(place.callers or self.callers),
            place.classes[hostile],
        )

    def _probe(self, place: Place, hostile: str, draft: Draft) -> Probe:
        target = self.path
        for name, value in draft.params.items():
            # Placeholders stay as they are, to be replaced by the images' ids when sent.
            shown = value if value in PLACEHOLDERS else percent_encoded(value)
            target = target.replace("{" + name + "}", str(shown))
        if draft.query:
            query = (f"{percent_encoded(k)}={percent_encoded(v)}" for k, v in draft.query)
            target += "?" + "&".join(query)
        body = draft.body
        return Probe(
            route=self.name,
            where=place.where,
            hostile=hostile,
            must_refuse=place.must_refuse,
            method=self.sent_as or self.method,
            target=target,
            headers=tuple(draft.headers.items()),
            body=body if body is None or isinstance(body, bytes) else encoded(body),
        )


# --- The routes --------------------------------------------------------------------------------

V = "/{version}"
IMAGE = V + "/images/{image_id}"
ANYONE = ("owner", "member", "admin")
JSON_TYPE = {"Content-Type": b"application/json"}
PATCH_TYPE = b"application/openstack-images-v2.1-json-patch"
DATA_TYPE = b"application/octet-stream"


def discovery(path: str, *, refuses_body: bool = True, for_everyone: bool = True) -> Route:
    return Route(
        "GET", path, callers=ANYONE, images=(), refuses_body=refuses_body, for_everyone=for_everyone
    )


def list_places() -> Iterator[Place]:
    """`GET /v2/images` reads every parameter `infra/http/list_params.py` names."""
    in_or_nul = st.one_of(nul_text, nul_text.map("in:".__add__))
    for name in (*(n for n in IN_OR_EQUAL if n != "id"), *EQUAL, "tag", "os_distro"):
        yield in_query(name, {"NUL": in_or_nul})  # compared as text in the database
    ids = st.lists(st.one_of(st.uuids().map(str), ordinary_text), min_size=1, max_size=3)
    # Ids that match nothing are not wrong (Glance answers an empty list).
    yield in_query("id", {"in: ids": ids.map(lambda ids: "in:" + ",".join(ids))}, must_refuse=False)
    yield in_query("name", {"bytes not UTF-8": not_utf8}, must_refuse=False)
    for number in NUMBERS:
        for name in (number, f"{number}_min", f"{number}_max"):
            yield in_query(name, URL_NUMBER)
            yield in_query(name, {"beyond 32 bits": beyond_int32.map(str)}, must_refuse=False)
    for name in (*TIMES, *BOOLEANS, *(n for n in NOT_FILTERS if n not in ("tag", "limit"))):
        yield in_query(name, {"NUL": nul_text, "20 digits and more": twenty_digits})
    yield in_query("limit", URL_TEXT)
    yield in_query("limit", {"20 digits and more": twenty_digits}, must_refuse=False)

    def with_property_name(draft: Draft, value: Any) -> Draft:
        return draft.with_query(value, "x")

    yield Place("query name (a property's)", with_property_name, URL_TEXT)


ORDINARY_IMAGE = {"name": "n", "disk_format": "raw", "container_format": "bare"}


def image_field(name: str, classes: Classes, callers: tuple[str, ...] = ()) -> Place:
    return in_body(name, lambda value: {**ORDINARY_IMAGE, name: value}, classes, callers)


CREATE_PLACES = (
    image_field("name", JSON_NAME),
    image_field("owner", JSON_NAME, callers=("admin",)),  # an admin may name any owner
    *(image_field(name, JSON_TEXT) for name in ("id", "disk_format", "container_format")),
    *(image_field(name, JSON_TEXT) for name in ("visibility", "protected", "os_hidden")),
    image_field("os_distro", JSON_TEXT),  # a property
    *(image_field(name, JSON_COUNT) for name in ("min_ram", "min_disk")),
    in_body("tags", lambda value: {**ORDINARY_IMAGE, "tags": [value]}, JSON_NAME),
    in_body("property name", lambda value: {**ORDINARY_IMAGE, value: "v"}, JSON_KEY),
    WHOLE,
)


def patching(attribute: str, classes: Classes, callers: tuple[str, ...] = ()) -> Place:
    def build(value: Any) -> list[dict[str, Any]]:
        return [{"op": "replace", "path": f"/{attribute}", "value": value}]

    return in_body(f"value of {attribute}", build, classes, callers)


def pointer(value: Any) -> Any:
    return "/" + value if isinstance(value, str) else value


PATCH_PLACES = (
    patching("name", JSON_NAME),
    patching("owner", JSON_NAME, callers=("admin",)),
    patching("os_distro", JSON_TEXT),
    *(patching(name, JSON_COUNT) for name in ("min_ram", "min_disk")),
    patching("tags", {name: s.map(lambda tag: [tag]) for name, s in JSON_NAME.items()}),
    in_body("path", lambda value: [{"op": "add", "path": pointer(value), "value": "v"}], JSON_KEY),
    in_body("op", lambda value: [{"op": value, "path": "/name", "value": "n"}], JSON_TEXT),
    in_body("from", lambda value: [{"op": "copy", "from": pointer(value), "path": "/c"}], JSON_KEY),
    in_header("Content-Type", header_classes(PATCH_TYPE)),
    WHOLE,
)
DATA_PLACES = (
    in_header("Content-Type", header_classes(DATA_TYPE)),
    in_header("x-openstack-image-size", header_classes(b"4", numbers=b"{n}")),
    in_header("X-Image-Meta-Store", header_classes(b"file")),
)
COPY = {"method": {"name": "copy-image"}}
IMPORT_PLACES = (
    in_body("method name", lambda value: {"method": {"name": value}}, JSON_TEXT),
    in_body("stores", lambda value: {**COPY, "stores": [value]}, JSON_NAME),
    in_body("all_stores", lambda value: {**COPY, "all_stores": value}, JSON_TEXT),
    in_header("X-Image-Meta-Store", header_classes(b"file")),
    WHOLE,
)
# Data in the store's own folder: what a service attaches.
LOCATED = "{store}/located"
LOCATION_PLACES = (
    in_body(
        "url",
        lambda value: {"url": LOCATED + value if isinstance(value, str) else value},
        JSON_NAME,
    ),
    in_body(
        "validation_data",
        lambda value: {
            "url": LOCATED,
            "validation_data": {"os_hash_algo": value, "os_hash_value": "0" * 128},
        },
        JSON_TEXT,
    ),
    WHOLE,
)


# An import from a URL the catalog may not fetch: refused however good the rest is.
ORDINARY_TASK: dict[str, Any] = {
    "type": "import",
    "input": {
        "import_from": "http://127.0.0.1:9/x",
        "import_from_format": "raw",
        "image_properties": ORDINARY_IMAGE,
    },
}


def in_task(build: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """A task whose input is the ordinary one changed by `build`."""
    return lambda value: {**ORDINARY_TASK, "input": {**ORDINARY_TASK["input"], **build(value)}}


TASK_PLACES = (
    in_body("type", lambda value: {**ORDINARY_TASK, "type": value}, JSON_TEXT),
    in_body("import_from", in_task(lambda value: {"import_from": value}), JSON_NAME),
    in_body(
        "image property",
        in_task(lambda value: {"image_properties": {**ORDINARY_IMAGE, "os_distro": value}}),
        JSON_TEXT,
    ),
    in_body(
        "image property name",
        in_task(lambda value: {"image_properties": {**ORDINARY_IMAGE, value: "v"}}),
        JSON_KEY,
    ),
    WHOLE,
)
TASK_ROUTE: dict[str, Any] = {"callers": ("admin",), "images": ()}


def naming(method: str, path: str, param: str, ordinary: str, **route: Any) -> Route:
    """A route whose path names something besides the image: a store, a tag, a member."""
    places = (in_path(param, URL_NAME), *route.pop("places", ()))
    params = {param: ordinary, **route.pop("params", {})}
    return Route(method, path, params=params, places=places, **route)


def metadef_routes() -> Iterator[Route]:
    """The metadata definitions routes, on `{namespace}` (an admin's public namespace holding
    an object `o`, a property `p`, a tag `t` and an association with `T`)."""
    root = V + "/metadefs/namespaces"
    one = root + "/{namespace}"
    reads: dict[str, Any] = {"callers": ANYONE, "images": ()}
    writes: dict[str, Any] = {"callers": ("admin",), "images": (), "headers": JSON_TYPE}
    ns: dict[str, Any] = {
        "params": {"namespace": "{namespace}"},
        "places": (in_path("namespace", URL_NAME),),
    }

    def body(route: dict[str, Any], ordinary: dict[str, Any], key: str, build: Any) -> Any:
        places = (*route.get("places", ()), in_body(key, build, JSON_NAME), WHOLE)
        return {**route, "body": ordinary, "places": places}

    yield Route("GET", V + "/metadefs/resource_types", **reads)
    listing = tuple(
        in_query(name, URL_TEXT)
        for name in ("limit", "marker", "sort_key", "sort_dir", "visibility", "resource_types")
    )
    yield Route("GET", root, **reads, places=listing)
    named = {"namespace": "n"}
    yield Route("POST", root, **body(writes, named, "namespace", lambda v: {"namespace": v}))
    yield Route("GET", one, **reads, **ns)
    yield Route(
        "PUT", one, **body({**writes, **ns}, named, "namespace", lambda v: {"namespace": v})
    )
    for kind in ("", "/objects", "/properties", "/tags"):
        yield Route("DELETE", one + kind, **{**writes, **ns})
    contents: tuple[tuple[str, str, dict[str, Any], Any], ...] = (
        ("objects", "object_name", {"name": "o2"}, lambda v: {"name": v}),
        (
            "properties",
            "property_name",
            {"name": "p2", "type": "string", "title": "P"},
            lambda v: {"name": v, "type": "string", "title": "P"},
        ),
        ("tags", "tag_name", {"name": "t2"}, lambda v: {"name": v}),
    )
    for kind, param, ordinary, build in contents:
        existing = {"o": "o", "p": "p", "t": "t"}[kind[0]]
        yield Route("GET", f"{one}/{kind}", **reads, **ns)
        yield naming("GET", f"{one}/{kind}/{{{param}}}", param, existing, **reads, **ns)
        yield naming("DELETE", f"{one}/{kind}/{{{param}}}", param, existing, **writes, **ns)
        yield naming(
            "PUT",
            f"{one}/{kind}/{{{param}}}",
            param,
            existing,
            **body({**writes, **ns}, ordinary, "name", build),
        )
        if kind != "tags":
            yield Route("POST", f"{one}/{kind}", **body({**writes, **ns}, ordinary, "name", build))
    yield naming("POST", one + "/tags/{tag_name}", "tag_name", "t3", **writes, **ns)
    tags = {"tags": [{"name": "t4"}]}
    yield Route(
        "POST",
        one + "/tags",
        **body({**writes, **ns}, tags, "tags", lambda v: {"tags": [{"name": v}]}),
    )
    yield Route("GET", one + "/resource_types", **reads, **ns)
    yield Route(
        "POST",
        one + "/resource_types",
        **body({**writes, **ns}, {"name": "T2"}, "name", lambda v: {"name": v}),
    )
    yield naming(
        "DELETE", one + "/resource_types/{resource_type}", "resource_type", "T", **writes, **ns
    )


SHARED_FIRST = ("shared", "active")
AN_IMAGE_WITH_DATA: dict[str, Any] = {"callers": ("admin", "owner"), "images": SHARED_FIRST}
MEMBER_STATUS: dict[str, Any] = {
    "callers": ("member", "admin"),
    "images": SHARED_FIRST,
    "headers": JSON_TYPE,
    "body": {"status": "accepted"},
    "places": (in_body("status", lambda value: {"status": value}, JSON_TEXT), WHOLE),
}

METADEF_ROUTES = tuple(metadef_routes())
SIGN_IN = {"username": "u", "password": "p", "project": "x"}

ROUTES = (
    discovery("/", refuses_body=False),
    discovery("/versions", refuses_body=False),
    # Any method (`*`): walked with OPTIONS, what HAProxy's `option httpchk` sends by default.
    Route(
        "*",
        "/healthcheck",
        sent_as="OPTIONS",
        callers=ANYONE,
        images=(),
        refuses_body=False,
        for_everyone=True,
    ),
    discovery(V, refuses_body=False),
    discovery("/openapi.json", refuses_body=False),
    # For admins by default (CATALOG_METRICS_ACCESS): it reads who is asking.
    Route("GET", "/metrics", callers=("admin",), images=(), refuses_body=False),
    # The web console: the same for everyone (its sign-in asks Keystone, which this catalog
    # does not use: it answers 404 whatever it is given).
    discovery("/console"),
    discovery("/console/"),
    discovery("/console/config.json"),
    naming(
        "GET", "/console/{name}", "name", "app.js", callers=ANYONE, images=(), for_everyone=True
    ),
    Route(
        "POST",
        "/console/sign-in",
        callers=ANYONE,
        images=(),
        headers=JSON_TYPE,
        body=SIGN_IN,
        places=(in_body("username", lambda v: {**SIGN_IN, "username": v}, JSON_NAME), WHOLE),
        for_everyone=True,
    ),
    *(discovery(f"{V}/schemas/{name}") for name in SERVED_SCHEMAS),
    *(discovery(f"{V}/info/{name}") for name in ("import", "stores")),
    *(discovery(f"{V}/info/{name}", for_everyone=False) for name in ("usage", "stores/detail")),
    Route("GET", V + "/images", callers=ANYONE, images=(), places=tuple(list_places())),
    Route(
        "POST",
        V + "/images",
        images=(),
        headers=JSON_TYPE,
        body=ORDINARY_IMAGE,
        places=CREATE_PLACES,
    ),
    Route("GET", IMAGE, callers=ANYONE, places=(in_query("as_of", URL_NUMBER),)),
    Route(
        "PATCH",
        IMAGE,
        callers=("owner", "admin"),
        headers={"Content-Type": PATCH_TYPE},
        body=[{"op": "replace", "path": "/name", "value": "n"}],
        places=PATCH_PLACES,
    ),
    Route("DELETE", IMAGE, callers=("owner", "admin")),
    Route(
        "GET",
        IMAGE + "/history",
        callers=ANYONE,
        places=(
            in_query("limit", URL_TEXT),
            in_query("limit", {"20 digits and more": twenty_digits}, must_refuse=False),
            in_query("marker", URL_NUMBER),
            in_query("include", URL_TEXT),
        ),
    ),
    *(
        Route(
            "PUT",
            IMAGE + part,
            images=("queued",),
            headers={"Content-Type": DATA_TYPE},
            body=b"data",
            places=DATA_PLACES,
        )
        for part in ("/file", "/stage")
    ),
    Route(
        "GET",
        IMAGE + "/file",
        callers=ANYONE,
        images=("active", "shared"),
        places=(
            in_query("prefer", URL_TEXT),
            in_header("Range", header_classes(b"bytes=0-", numbers=b"bytes={n}-")),
            in_header("Content-Range", header_classes(b"bytes 0-1/4", numbers=b"bytes 0-{n}/*")),
        ),
    ),
    Route(
        "POST",
        IMAGE + "/import",
        images=("active", "queued"),
        headers=JSON_TYPE,
        body=COPY,
        places=IMPORT_PLACES,
    ),
    Route(
        "POST",
        IMAGE + "/locations",
        callers=("service",),
        images=("queued",),
        headers=JSON_TYPE,
        body={"url": LOCATED},
        places=LOCATION_PLACES,
    ),
    Route("GET", IMAGE + "/locations", callers=("service", "owner")),
    naming("DELETE", V + "/stores/{store_id}/{image_id}", "store_id", "file", **AN_IMAGE_WITH_DATA),
    *(
        naming(method, IMAGE + "/tags/{tag_value}", "tag_value", "t", refuses_body=False)
        for method in ("PUT", "DELETE")
    ),
    Route("GET", IMAGE + "/members", callers=ANYONE, images=SHARED_FIRST),
    Route(
        "POST",
        IMAGE + "/members",
        images=SHARED_FIRST,
        headers=JSON_TYPE,
        body={"member": "proj-c"},
        places=(in_body("member", lambda value: {"member": value}, JSON_NAME), WHOLE),
    ),
    *(
        naming(method, IMAGE + "/members/{member_id}", "member_id", "proj-b", **route)
        for method, route in (
            ("GET", {"callers": ANYONE, "images": SHARED_FIRST}),
            ("DELETE", {"callers": ("owner", "admin"), "images": SHARED_FIRST}),
            ("PUT", MEMBER_STATUS),  # as the member, who decides its status
        )
    ),
    *(
        Route("POST", f"{IMAGE}/actions/{action}", callers=("owner", "admin"))
        for action in ("deactivate", "reactivate", "restore")
    ),
    *METADEF_ROUTES,
    Route("GET", IMAGE + "/tasks", callers=ANYONE),
    Route(
        "GET",
        V + "/tasks",
        callers=("admin",),
        images=(),
        refuses_body=False,  # as Glance, which ignores it
        places=tuple(
            in_query(name, URL_TEXT)
            for name in ("status", "type", "owner", "sort_key", "sort_dir", "limit", "marker")
        ),
    ),
    Route(
        "POST",
        V + "/tasks",
        callers=("admin",),
        images=(),
        headers=JSON_TYPE,
        body=ORDINARY_TASK,
        places=TASK_PLACES,
    ),
    *(
        naming(method, V + "/tasks/{task_id}", "task_id", str(uuid.UUID(int=1)), **TASK_ROUTE)
        for method in ("GET", "DELETE")
    ),
    Route("GET", V + "/cache", callers=("admin",), images=()),
    Route(
        "DELETE",
        V + "/cache",
        callers=("admin",),
        images=(),
        places=(in_header("x-image-cache-clear-target", header_classes(b"cache")),),
    ),
    *(
        Route("POST", f"{V}/cache/{what}", callers=("admin",), images=())
        for what in ("clean", "prune")
    ),
    *(
        Route(method, V + "/cache/{image_id}", callers=("admin",), images=("active",))
        for method in ("PUT", "DELETE")
    ),
)

# --- The walk ----------------------------------------------------------------------------------

# The same requests on every run, each (route, place, class) tried a few times: about 1,200
# requests, some ten seconds per database.
WALK = settings(
    max_examples=3,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.generate,),
    suppress_health_check=list(HealthCheck),
)
REPLY_WAIT = 120  # seconds: generous, for a busy machine; a reply that never comes is a failure
SHOWN_BYTES = 300


def exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """Send `request` as it is; the status and body of the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=REPLY_WAIT) as connection:
        # Answered before the whole body was read: the answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(request)
        reply = http.client.HTTPResponse(connection)
        reply.begin()
        return reply.status, reply.read()


def is_glance_error(status: int, body: bytes) -> bool:
    try:
        error = json.loads(body)
    except ValueError:
        return False
    phrase = HTTPStatus(status).phrase
    return (
        isinstance(error, dict)
        and isinstance(error.get("message"), str)
        and error.get("code") == f"{status} {phrase}"
        and error.get("title") == phrase
    )


def judged(probe: Probe, status: int, body: bytes, errors: list[str]) -> str | None:
    """What is wrong with this reply to `probe`, if anything (`errors`: the exceptions the
    server logged meanwhile, which name the cause of a 5xx)."""
    if status >= 500 or (probe.must_refuse and not 400 <= status < 500):
        causes = sorted({error.partition(":")[0] for error in errors})
        return f"answered {status}" + (f" ({', '.join(causes)})" if causes else "")
    if status >= 400 and not is_glance_error(status, body):
        return f"answered {status} without a Glance-style error body"
    return None


def printable(data: bytes) -> str:
    """Bytes as text a developer can read and type again: `\\xNN` for what is not printable
    ASCII, and long runs of one byte shortened (`<100000 × [>`)."""
    parts = []
    for byte, run in itertools.groupby(data):
        char = chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}"
        count = len(list(run))
        parts.append(f"<{count} × {char}>" if count > 16 else char * count)
    return "".join(parts)


def shown(probe: Probe) -> list[str]:
    """The request as it went out, with `{queued}`-style placeholders for the images."""
    head, _, body = probe.request({}).partition(b"\r\n\r\n")
    lines = [printable(line) for line in head.split(b"\r\n")]
    return lines + ([printable(body)[:SHOWN_BYTES]] if body else [])


def exception_named(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """A log processor: the logged exception as `type: message`, instead of its traceback
    (rendering a deep recursion's traceback would cost more than the whole walk)."""
    error = event.pop("exc_info", None)
    if error is True:
        error = sys.exc_info()[1]
    if isinstance(error, BaseException):
        message = str(error).encode(errors="backslashreplace")
        event["exception"] = f"{type(error).__name__}: {printable(message)[:SHOWN_BYTES]}"
    return event


@dataclass
class Finding:
    """A kind of failure: the first request that showed it, and how often it was seen."""

    probe: Probe
    status: int
    reply: bytes
    errors: list[str]
    times: int = 1


@dataclass
class Walk:
    """Sends every probe to the API and keeps what went wrong, once per kind."""

    api: ApiClient
    container: Container
    loop: asyncio.AbstractEventLoop
    names: dict[str, str]
    logs: list[EventDict]
    """What the server logs, through `exception_named`."""
    tries: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)

    def run(self) -> None:
        for route in ROUTES:
            for place in route.all_places():
                for hostile in place.classes:
                    self._explore(route.probes(place, hostile))

    def _explore(self, probes: Strategy[Probe]) -> None:
        @WALK
        @given(probes)
        def explore(probe: Probe) -> None:
            self.check(probe)

        explore()

    def check(self, probe: Probe) -> None:
        before, logged = self._state(), len(self.logs)
        status, reply = exchange(self.api.server.port or 0, probe.request(self.names))
        errors = [entry["exception"] for entry in self.logs[logged:] if "exception" in entry]
        after = self._state()
        problems = [
            judged(probe, status, reply, errors),
            "appended events" if after[0] != before[0] else None,
            "changed the stored data" if after[1] != before[1] else None,
        ]
        kind = (probe.route, probe.where, probe.hostile)
        self.tries[kind] += 1
        if problem := ", ".join(p for p in problems if p):
            if (*kind, problem) in self.findings:
                self.findings[(*kind, problem)].times += 1
            else:
                self.findings[(*kind, problem)] = Finding(probe, status, reply, errors)
        if after != before:
            # The images changed: later requests must find them as the docstring says.
            self.names = self._wait(fixture_names(self.api, self.container))

    def _state(self) -> tuple[int, list[Path]]:
        return self._wait(changes_recorded(self.container)), stored_files(self.container)

    def _wait(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(REPLY_WAIT)

    def report(self) -> str:
        summary, requests = [], []
        for (route, where, hostile, problem), finding in self.findings.items():
            tried = self.tries[(route, where, hostile)]
            line = f"{route}: {where}, {hostile}: {problem} ({finding.times} of {tried})"
            summary.append(line)
            requests += ["", line, *("    " + part for part in shown(finding.probe))]
            requests.append(f"  -> {finding.status} {printable(finding.reply)[:SHOWN_BYTES]}")
            requests += [f"  logged {error}" for error in finding.errors]
        return "\n".join(
            [
                f"Bad input not refused cleanly, {len(self.findings)} kind(s):",
                *summary,
                "",
                "The first request of each kind ({queued}, {active} and {shared} are images of"
                " proj-a as the test's docstring says, {store} the file store's folder):",
                *requests,
            ]
        )


async def changes_recorded(container: Container) -> int:
    """Events in the log, but downloads' records: those are appended once the bytes went out,
    so a download wrongly answered would be counted against the next request."""
    query = (
        sa.select(sa.func.count())
        .select_from(event)
        .where(event.c.event_type != ImageDataSent.event_type)
    )
    return await container.database.read(lambda conn: int(conn.execute(query).scalar_one()))


async def fixture_names(api: ApiClient, container: Container) -> dict[str, str]:
    """New images as the docstring describes them, and the file store's folder."""
    shared = await uploaded_image_id(api, visibility="shared")
    added = await api.post(
        f"/v2/images/{shared}/members", json={"member": "proj-b"}, headers=PROJECT_A
    )
    assert added.status == 200, await added.text()
    accepted = await api.put(
        f"/v2/images/{shared}/members/proj-b", json={"status": "accepted"}, headers=PROJECT_B
    )
    assert accepted.status == 200, await accepted.text()
    namespace = f"ns-{uuid.uuid4()}"
    made = await api.post(
        "/v2/metadefs/namespaces",
        json={
            "namespace": namespace,
            "visibility": "public",
            "objects": [{"name": "o"}],
            "properties": {"p": {"type": "string", "title": "P"}},
            "tags": [{"name": "t"}],
            "resource_type_associations": [{"name": "T"}],
        },
        headers=ADMIN,
    )
    assert made.status == 201, await made.text()
    driver = container.stores.named("file").driver
    return {
        "namespace": namespace,
        "queued": await created_image_id(api),
        "active": await uploaded_image_id(api),
        "shared": shared,
        "store": driver.location_for("x").rpartition("/")[0],
    }


def registered_routes(app: web.Application) -> set[str]:
    return {
        f"{route.method} {route.resource.canonical}"
        for route in app.router.routes()
        if route.resource is not None
    }


async def test_bad_input_on_every_route_is_refused_cleanly(
    api: ApiClient, container: Container
) -> None:
    walked = {route.name for route in ROUTES}
    assert walked == registered_routes(api.app), "routes the walk does not know"
    names = await fixture_names(api, container)
    with capture_logs(processors=[exception_named]) as logs:
        walk = Walk(api, container, asyncio.get_running_loop(), names, logs)
        await asyncio.to_thread(walk.run)
    if walk.findings:
        pytest.fail(walk.report(), pytrace=False)
