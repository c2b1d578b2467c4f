"""Clients that stall, drip or hold on are cut off, on real sockets, and release what they held.

The limits are short here so that the tests do not wait long; every outcome is polled for under
a generous deadline, never timed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from infra.settings import ApiSettings, QuotaSettings
from tests.conftest import upload_head
from tests.integration.conftest import (
    ADMIN,
    PROJECT_A,
    embedded_settings,
    event_count,
    stored_files,
)
from tests.integration.served import Served, one_answer, request, served, until_closed
from tests.waiting import until

HEADER_LIMIT = 4096
LIMITS = ApiSettings(
    header_timeout_seconds=0.5,
    body_idle_timeout_seconds=0.5,
    keepalive_timeout_seconds=0.5,
    max_header_bytes=HEADER_LIMIT,
)
CREATE = {**PROJECT_A, "Content-Type": "application/json", "Accept": "application/json"}
IMAGE = json.dumps({"disk_format": "raw", "container_format": "bare"}).encode()


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Served]:
    # A storage quota, so that an upload claims bytes that a stalled one must give back.
    quotas = QuotaSettings(image_size_total=10)
    async with served(embedded_settings(tmp_path, database_url, api=LIMITS, quotas=quotas)) as s:
        yield s


async def created_image_id(api: Served) -> str:
    reader, writer = await api.connect()
    writer.write(request("POST", "/v2/images", CREATE, IMAGE))
    head, body = await one_answer(reader)
    writer.close()
    assert head.startswith(b"HTTP/1.1 201"), head + body
    image_id: str = json.loads(body)["id"]
    return image_id


async def answers(api: Served) -> bool:
    """A well-behaved client is served meanwhile."""
    reader, writer = await api.connect()
    writer.write(request("GET", "/versions", {}))
    head, _ = await one_answer(reader)
    writer.close()
    return head.startswith(b"HTTP/1.1 200")


async def test_a_client_that_stalls_in_its_request_line_is_cut_off(api: Served) -> None:
    reader, writer = await api.connect()
    writer.write(b"GET /v2/ima")
    await writer.drain()
    assert await answers(api)

    assert await until_closed(reader) == b""  # closed without an answer: there is no request


async def test_a_client_that_stalls_in_its_headers_is_cut_off(api: Served) -> None:
    reader, writer = await api.connect()
    writer.write(b"GET /v2/images HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Project-Id: pro")
    await writer.drain()

    assert await until_closed(reader) == b""


async def test_headers_larger_than_the_ceiling_are_refused_and_change_nothing(
    api: Served,
) -> None:
    before = await event_count(api.container)
    reader, writer = await api.connect()
    large = {**CREATE, "X-Padding": "p" * HEADER_LIMIT}
    writer.write(request("POST", "/v2/images", large, IMAGE))

    answer = await until_closed(reader)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer
    assert b"The request&#x27;s line and headers are too large." in answer
    assert await event_count(api.container) == before


async def test_header_lines_dripping_past_the_ceiling_are_refused_before_they_end(
    api: Served,
) -> None:
    reader, writer = await api.connect()
    writer.write(b"GET /v2/images HTTP/1.1\r\n")
    for n in range(HEADER_LIMIT // 16 + 1):
        writer.write(f"X-Drip-{n:04}: drip\r\n".encode())  # 18 bytes a line, the head never ends
    await writer.drain()

    assert (await until_closed(reader)).startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v2/images HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(200)),
        b"NOT HTTP AT ALL\r\n",
    ],
    ids=["more headers than aiohttp reads", "not a request line"],
)
async def test_a_head_that_cannot_be_read_is_refused_400_with_a_glance_body(
    api: Served, head: bytes
) -> None:
    before = await event_count(api.container)
    reader, writer = await api.connect()
    writer.write(head + b"\r\n")

    answer = await until_closed(reader)
    status_line = answer.split(b"\r\n", 1)[0]  # HTTP/1.0: the request's version was not read
    assert status_line.endswith(b" 400 Bad Request"), answer
    assert b"The request could not be read: it is not valid HTTP." in answer
    assert await event_count(api.container) == before


async def test_an_idle_keep_alive_connection_is_closed(api: Served) -> None:
    reader, writer = await api.connect()
    writer.write(request("GET", "/versions", {}))
    head, _ = await one_answer(reader)
    assert b"Connection: close" not in head

    assert await until_closed(reader) == b""


@pytest.mark.parametrize("target", ["file", "stage"])
async def test_an_upload_whose_body_stalls_fails_as_an_interrupted_one(
    api: Served, target: str
) -> None:
    image_id = await created_image_id(api)
    reader, writer = await api.connect()
    head = upload_head("127.0.0.1", image_id, 100_000, PROJECT_A)
    writer.write(head.replace(b"/file ", f"/{target} ".encode()) + b"0123456789")
    await writer.drain()

    answer = await until_closed(reader)  # the client still listens: it is told why, then cut off
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert b"The request&#x27;s body sent nothing for 0.5 seconds." in answer

    stream = await api.container.log.load_stream(uuid.UUID(image_id))
    assert [e.event_type for e in stream][-2:] == ["image.upload_started", "image.upload_failed"]
    assert "sent nothing" in stream[-1].data["reason"]
    assert stored_files(api.container) == []
    quotas = api.container.bus.context.quotas
    assert quotas is not None
    assert (await quotas.usage("proj-a")).bytes == 0
    assert await image_status(api, image_id) == "queued"


async def image_status(api: Served, image_id: str) -> str:
    reader, writer = await api.connect()
    writer.write(request("GET", f"/v2/images/{image_id}", {**ADMIN, "Accept": "application/json"}))
    _, body = await one_answer(reader)
    writer.close()
    status: str = json.loads(body)["status"]
    return status


async def test_connections_beyond_the_limit_are_answered_503_and_closed(
    tmp_path: Path, sqlite_url: str
) -> None:
    api_settings = LIMITS.model_copy(
        update={"max_connections": 2, "keepalive_timeout_seconds": 600}
    )
    async with served(embedded_settings(tmp_path, sqlite_url, api=api_settings)) as api:
        held = [await api.connect(), await api.connect()]
        for _, writer in held:  # both are accepted and served, and stay open
            writer.write(request("GET", "/versions", {}))
        for reader, _ in held:
            assert (await one_answer(reader))[0].startswith(b"HTTP/1.1 200")

        reader, _ = await api.connect()
        refused = await until_closed(reader)
        assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), refused
        assert b"Retry-After: 5\r\n" in refused
        assert b"too many connections open" in refused

        held[0][1].close()
        await until(lambda: answers(api), "a connection is accepted once one closed")
