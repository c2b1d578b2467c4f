"""Hostile input gets a clear 400 (or the answer its protocol gives) and changes nothing, on
both databases alike: text no database can keep, documents nested without end, integers out
of every column's range, and bytes that are not UTF-8 where identity comes from."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse

from infra.bootstrap import Container
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    created_image_id,
    event_count,
    refused_without_change,
    stored_files,
    uploaded_image_id,
)
from tests.integration.conftest import ApiClient as Client

HEADERS = {**PROJECT_A, **JSON}
PATCH = {**HEADERS, "Content-Type": "application/openstack-images-v2.1-json-patch"}


async def refused(
    container: Container,
    send: Callable[[], Awaitable[ClientResponse]],
    status: int,
    message: str,
) -> None:
    """Refused with `status` and a Glance-style body; no event, no bytes."""
    files = stored_files(container)
    response = await refused_without_change(container, send, status, message)
    body = await response.json()
    assert body["code"].startswith(str(status)), body
    assert body["title"], body
    assert stored_files(container) == files


def body_of(document: Any) -> bytes:
    """JSON as a client writes it: NUL and surrogates as `\\u` escapes."""
    return json.dumps(document).encode()


# -- answers that never fail ----------------------------------------------------------------------


async def send_raw(
    api: Client, head: bytes, body: bytes = b"", accept: bytes = b"application/json"
) -> tuple[int, bytes]:
    """A request written byte for byte (clients will not send header bytes that are not
    UTF-8): its status and body."""
    assert api.server.host is not None
    assert api.server.port is not None
    reader, writer = await asyncio.open_connection(api.server.host, api.server.port)
    try:
        writer.write(head + b"Accept: " + accept + b"\r\nConnection: close\r\n")
        writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_an_error_that_echoes_unencodable_input_is_still_answered(
    api: Client, container: Container
) -> None:
    """A message quoting the request (here its media type) can hold what UTF-8 cannot encode;
    the answer escapes it, in JSON and in HTML alike."""
    image_id = await created_image_id(api)
    head = (
        f"PATCH /v2/images/{image_id} HTTP/1.1\r\nHost: catalog\r\n"
        "X-Project-Id: proj-a\r\nX-User-Id: alice\r\nX-Roles: member,reader\r\n"
    ).encode() + b"Content-Type: text/\xff\r\n"
    echoed = "The request media type text/\\udcff is not supported by this server."
    status, content = await send_raw(api, head, b"[]")
    assert status == 415, content
    assert json.loads(content)["message"].startswith(echoed)
    status, content = await send_raw(api, head, b"[]", accept=b"*/*")
    assert status == 415, content
    assert echoed in content.decode()
    assert await event_count(container, image_id) == 1


# -- text no database can keep --------------------------------------------------------------------


NUL, SURROGATE = "\x00", "\ud800"
UNSTORABLE = [pytest.param(NUL, id="nul"), pytest.param(SURROGATE, id="surrogate")]
IN_BODY = "The request body holds text that cannot be stored"
IN_URL = "The request URL holds text that cannot be stored"


@pytest.mark.parametrize("bad", UNSTORABLE)
async def test_unstorable_text_anywhere_in_a_create_is_refused(
    api: Client, container: Container, bad: str
) -> None:
    for document in (
        {"name": f"a{bad}b"},
        {"owner": bad},
        {"os_distro": bad},
        {f"key{bad}": "value"},
        {"tags": ["fine", bad]},
    ):
        await refused(
            container,
            functools.partial(api.post, "/v2/images", data=body_of(document), headers=HEADERS),
            400,
            IN_BODY,
        )


@pytest.mark.parametrize("bad", UNSTORABLE)
async def test_unstorable_text_in_every_other_json_body_is_refused(
    api: Client, container: Container, bad: str
) -> None:
    image_id = await created_image_id(api)
    member = f"/v2/images/{image_id}/members"
    cases: list[tuple[str, str, Any, dict[str, str]]] = [
        ("PATCH", f"/v2/images/{image_id}", [{"op": "add", "path": "/p", "value": bad}], PATCH),
        (
            "PATCH",
            f"/v2/images/{image_id}",
            [{"op": "add", "path": f"/{bad}", "value": "v"}],
            PATCH,
        ),
        (
            "PATCH",
            f"/v2/images/{image_id}",
            [{"op": "replace", "path": "/name", "value": bad}],
            PATCH,
        ),
        ("POST", member, {"member": f"proj{bad}"}, HEADERS),
        ("PUT", f"{member}/proj-b", {"status": bad}, HEADERS),
        ("POST", f"/v2/images/{image_id}/locations", {"url": f"http://x/{bad}"}, HEADERS),
        ("POST", f"/v2/images/{image_id}/import", {"method": {"name": bad}}, HEADERS),
    ]
    for method, path, document, headers in cases:
        await refused(
            container,
            functools.partial(api.request, method, path, data=body_of(document), headers=headers),
            400,
            IN_BODY,
        )


async def test_nul_or_bytes_not_utf8_in_path_and_query_parameters_are_refused(
    api: Client, container: Container
) -> None:
    image_id = await created_image_id(api)
    for method, path in (
        ("PUT", f"/v2/images/{image_id}/tags/%00"),
        ("PUT", f"/v2/images/{image_id}/tags/%80"),
        ("GET", "/v2/images?name=%FF"),
        ("DELETE", f"/v2/images/{image_id}/tags/a%00b"),
        ("GET", f"/v2/images/{image_id}/members/proj%00"),
        ("PUT", f"/v2/images/{image_id}/members/proj%00"),
        ("DELETE", f"/v2/images/{image_id}/members/proj%00"),
        ("DELETE", f"/v2/stores/file%00/{image_id}"),
        ("GET", "/v2/images?name=x%00"),
        ("GET", "/v2/images?tag=%00"),
        ("GET", "/v2/images?os_distro=%00"),
        ("GET", "/v2/images?owner=proj%00a"),
        ("GET", "/v2/images?name=in:a,b%00"),
        ("GET", "/v2/images?x%00=1"),
        ("GET", f"/v2/images/{image_id}?as_of=%00"),
    ):
        await refused(
            container,
            functools.partial(api.request, method, path, headers=HEADERS),
            400,
            IN_URL,
        )


@pytest.mark.parametrize("header", ["X-Project-Id", "X-Tenant-Id", "X-User-Id", "X-Roles"])
async def test_identity_headers_that_are_not_utf8_are_refused(
    api: Client, container: Container, header: str
) -> None:
    identity = {"X-Project-Id": b"proj-a", "X-User-Id": b"alice", "X-Roles": b"member,reader"}
    identity.pop("X-Project-Id" if header == "X-Tenant-Id" else header, None)
    identity[header] = b"proj-\xff"
    head = b"POST /v2/images HTTP/1.1\r\nHost: catalog\r\nContent-Type: application/json\r\n"
    head += b"".join(f"{name}: ".encode() + value + b"\r\n" for name, value in identity.items())
    before = await event_count(container)
    status, content = await send_raw(api, head, b"{}")
    assert status == 400, content
    body = json.loads(content)
    assert body["message"].startswith(f"The {header} header holds text that cannot be stored")
    assert body["code"] == "400 Bad Request"
    assert await event_count(container) == before


async def test_a_percent_encoded_nul_among_the_roles_is_refused(
    api: Client, container: Container
) -> None:
    await refused(
        container,
        lambda: api.post("/v2/images", json={}, headers={**HEADERS, "X-Roles": "member%00"}),
        400,
        "The X-Roles header holds text that cannot be stored",
    )


@pytest.mark.parametrize("header", ["X-Project-Id", "X-Tenant-Id", "X-User-Id"])
async def test_identities_longer_than_255_characters_are_refused(
    api: Client, container: Container, header: str
) -> None:
    headers = {**HEADERS, header: "p" * 256}
    if header == "X-Tenant-Id":
        del headers["X-Project-Id"]
    await refused(
        container,
        lambda: api.post("/v2/images", json={}, headers=headers),
        400,
        f"The {header} header is longer than 255 characters.",
    )


async def test_a_store_header_that_is_not_utf8_is_refused(
    api: Client, container: Container
) -> None:
    image_id = await created_image_id(api, disk_format="raw", container_format="bare")
    head = (
        f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: catalog\r\n"
        "X-Project-Id: proj-a\r\nX-User-Id: alice\r\nX-Roles: member,reader\r\n"
        "Content-Type: application/octet-stream\r\n"
    ).encode() + b"X-Image-Meta-Store: fil\xe9\r\n"
    before = await event_count(container)
    status, content = await send_raw(api, head, b"data")
    assert status == 400, content
    assert json.loads(content)["message"].startswith("The X-Image-Meta-Store header holds text")
    assert await event_count(container) == before
    assert stored_files(container) == []


# -- documents nested without end -----------------------------------------------------------------


TOO_DEEP = "The request body is nested too deeply: at most 32 levels are accepted."


async def test_deeply_nested_json_is_refused_on_every_body(
    api: Client, container: Container
) -> None:
    image_id = await created_image_id(api)
    endless = b"[" * 100_000
    just_too_deep = body_of(json.loads('{"a": ' * 33 + "1" + "}" * 33))
    for method, path, headers in (
        ("POST", "/v2/images", HEADERS),
        ("PATCH", f"/v2/images/{image_id}", PATCH),
        ("POST", f"/v2/images/{image_id}/members", HEADERS),
        ("PUT", f"/v2/images/{image_id}/members/proj-b", HEADERS),
        ("POST", f"/v2/images/{image_id}/locations", HEADERS),
        ("POST", f"/v2/images/{image_id}/import", HEADERS),
    ):
        for body in (endless, just_too_deep):
            await refused(
                container,
                functools.partial(api.request, method, path, data=body, headers=headers),
                400,
                TOO_DEEP,
            )


async def test_a_document_at_the_depth_limit_is_read(api: Client, container: Container) -> None:
    deepest = '{"a": ' * 31 + '"v"' + "}" * 31
    body = f'{{"name": "deep", "nested": {deepest}}}'.encode()
    response = await api.post("/v2/images", data=body, headers=HEADERS)
    assert response.status == 400
    assert "does not match schema 'image'" in (await response.json())["message"]


# -- integers out of range ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("min_ram", 2**31), ("min_disk", 2**63), ("min_ram", 10**30)]
)
async def test_minimums_beyond_32_bits_are_refused_on_create_and_patch(
    api: Client, container: Container, field: str, value: int
) -> None:
    message = f"'{field}' value out of range, must not exceed 2147483647."
    await refused(
        container,
        lambda: api.post("/v2/images", json={field: value}, headers=HEADERS),
        400,
        message,
    )
    image_id = await created_image_id(api)
    operations = [{"op": "replace", "path": f"/{field}", "value": value}]
    await refused(
        container,
        lambda: api.patch(f"/v2/images/{image_id}", data=body_of(operations), headers=PATCH),
        400,
        message,
    )


async def test_the_largest_minimums_are_kept(api: Client) -> None:
    image_id = await created_image_id(api, min_ram=2**31 - 1, min_disk=2**31 - 1)
    shown = await (await api.get(f"/v2/images/{image_id}", headers=HEADERS)).json()
    assert (shown["min_ram"], shown["min_disk"]) == (2**31 - 1, 2**31 - 1)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "size_max=99999999999999999999999",
            "Unable to filter on size_max: the value must be from -9223372036854775808 to "
            "9223372036854775807.",
        ),
        ("size_min=-9223372036854775809", "Unable to filter on size_min: "),
        ("virtual_size=9223372036854775808", "Unable to filter on virtual_size: "),
        (
            "min_ram=2147483648",
            "Unable to filter on min_ram: the value must be from -2147483648 to 2147483647.",
        ),
        ("min_disk_max=2147483648", "Unable to filter on min_disk_max: "),
    ],
)
async def test_list_filters_beyond_their_columns_are_refused(
    api: Client, container: Container, query: str, message: str
) -> None:
    await refused(container, lambda: api.get(f"/v2/images?{query}", headers=HEADERS), 400, message)


async def test_list_filters_at_their_columns_limits_are_answered(api: Client) -> None:
    await created_image_id(api, name="small")
    for query in ("size_max=9223372036854775807", "min_ram_max=2147483647", "min_disk=0"):
        response = await api.get(f"/v2/images?{query}", headers=HEADERS)
        assert response.status == 200, await response.text()


async def test_byte_positions_of_any_length_are_answered_as_positions(
    api: Client, container: Container
) -> None:
    image_id = await uploaded_image_id(api, b"0123456789", headers=ADMIN, visibility="public")
    file = f"/v2/images/{image_id}/file"
    huge = "9" * 5000
    for header, value in (("Range", f"bytes={huge}-"), ("Content-Range", f"bytes 0-{huge}/*")):
        await refused(
            container,
            functools.partial(api.get, file, headers={**HEADERS, header: value}),
            416,
            f"Invalid {'start' if header == 'Range' else 'stop'} position in {header} header.",
        )
    for value, expected in ((f"bytes=4-{huge}", b"456789"), (f"bytes=-{huge}", b"0123456789")):
        response = await api.get(file, headers={**HEADERS, "Range": value})
        assert response.status == 206
        assert await response.read() == expected


async def test_a_declared_size_beyond_64_bits_is_refused(api: Client, container: Container) -> None:
    image_id = await created_image_id(api)
    headers = {**HEADERS, "Content-Type": "application/octet-stream"}
    for size, message in (
        (str(2**63), "x-openstack-image-size must not exceed 9223372036854775807."),
        ("9" * 5000, "x-openstack-image-size must be an integer."),
    ):
        await refused(
            container,
            functools.partial(
                api.put,
                f"/v2/images/{image_id}/file",
                data=b"data",
                headers={**headers, "x-openstack-image-size": size},
            ),
            400,
            message,
        )
