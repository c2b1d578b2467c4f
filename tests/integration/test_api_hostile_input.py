"""Hostile input gets a clear 4xx and changes nothing, on both databases alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientResponse

from infra.bootstrap import Container
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    created_image_id,
    event_count,
    refused_without_change,
    stored_files,
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
