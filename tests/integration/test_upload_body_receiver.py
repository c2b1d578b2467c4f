"""Uploads received straight into the store's blocks (`infra/http/body_receiver.py`), on real
sockets, with both framings: the bytes stored are the bytes sent, and the connection serves its
next request afterwards; a malformed, cut or stalled body fails as it did on aiohttp's parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from infra.http.body_receiver import BodyReceiver
from infra.http.guarded_protocol import GuardedRequestHandler
from infra.settings import ApiSettings, QuotaSettings
from tests.integration.conftest import ADMIN, PROJECT_A, embedded_settings, stored_files
from tests.integration.served import Served, one_answer, request, served, until_closed
from tests.waiting import until

MiB = 1 << 20


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, database_url: str, api: ApiSettings) -> AsyncIterator[Served]:
    # A storage quota on: an upload of unknown size claims it in steps as its bytes arrive.
    quotas = QuotaSettings(image_size_total=100)
    async with served(embedded_settings(tmp_path, database_url, api=api, quotas=quotas)) as s:
        yield s


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Served]:
    # The default body idle timeout: a client sending byte by byte on a busy host never meets it.
    async with serving(tmp_path, database_url, ApiSettings()) as s:
        yield s


@pytest.fixture
async def impatient_api(tmp_path: Path, database_url: str) -> AsyncIterator[Served]:
    """A catalog that gives up on a body silent for a second."""
    async with serving(tmp_path, database_url, ApiSettings(body_idle_timeout_seconds=1.0)) as s:
        yield s


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[BodyReceiver | None]:
    """What each upload's connection answered when asked for its body."""
    answers: list[BodyReceiver | None] = []
    take = GuardedRequestHandler.take_body

    def spied(self: GuardedRequestHandler, request: object) -> BodyReceiver | None:
        answer = take(self, request)  # type: ignore[arg-type]
        answers.append(answer)
        return answer

    monkeypatch.setattr(GuardedRequestHandler, "take_body", spied)
    return answers


def pattern(size: int) -> bytes:
    """Bytes that differ from block to block, so a block stored twice or out of place shows."""
    block = bytes(range(251)) * 4
    return (block * (size // len(block) + 1))[:size]


def chunked(data: bytes, sizes: Iterator[int]) -> bytes:
    out = bytearray()
    while data:
        chunk = data[: next(sizes)]
        out += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        data = data[len(chunk) :]
    return bytes(out + b"0\r\n\r\n")


def upload(image_id: str, framing: str) -> bytes:
    head = (
        f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/octet-stream\r\n{framing}\r\n"
    )
    return (head + "".join(f"{k}: {v}\r\n" for k, v in PROJECT_A.items()) + "\r\n").encode()


async def new_image(api: Served, writer: asyncio.StreamWriter, reader: asyncio.StreamReader) -> str:
    body = json.dumps({"disk_format": "raw", "container_format": "bare"}).encode()
    headers = {**PROJECT_A, "Content-Type": "application/json"}
    writer.write(request("POST", "/v2/images", headers, body))
    head, answer = await one_answer(reader)
    assert head.startswith(b"HTTP/1.1 201"), head + answer
    image_id: str = json.loads(answer)["id"]
    return image_id


async def shown(writer: asyncio.StreamWriter, reader: asyncio.StreamReader, image_id: str) -> dict:  # type: ignore[type-arg]
    """The image, asked on the same connection: it is still served after the upload."""
    writer.write(request("GET", f"/v2/images/{image_id}", {**ADMIN, "Accept": "application/json"}))
    head, body = await one_answer(reader)
    assert head.startswith(b"HTTP/1.1 200"), head + body
    image: dict = json.loads(body)  # type: ignore[type-arg]
    return image


async def no_content(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(60):
        head = await reader.readuntil(b"\r\n\r\n")
    return head


def assert_stored(image: dict, data: bytes) -> None:  # type: ignore[type-arg]
    assert image["status"] == "active"
    assert image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()


async def send_in_pieces(writer: asyncio.StreamWriter, wire: bytes, piece: int) -> None:
    for start in range(0, len(wire), piece):
        writer.write(wire[start : start + piece])
        await writer.drain()


@pytest.mark.parametrize("size", [9 * MiB + 12345, 4 * MiB, 1])
async def test_a_sized_upload_is_received_into_blocks_and_the_connection_kept(
    api: Served, taken: list[BodyReceiver | None], size: int
) -> None:
    data = pattern(size)
    reader, writer = await api.connect()
    image_id = await new_image(api, writer, reader)
    # The body's first bytes go with the head, as clients send them.
    writer.write(upload(image_id, f"Content-Length: {size}") + data[:1000])
    await writer.drain()
    await send_in_pieces(writer, data[1000:], MiB)
    assert (await no_content(reader)).startswith(b"HTTP/1.1 204")

    assert_stored(await shown(writer, reader, image_id), data)
    # A body read whole with its head is aiohttp's already: there is nothing to take over.
    assert [answer is not None for answer in taken] == [size > 1000]


@pytest.mark.parametrize(
    ("size", "chunk_sizes", "piece"),
    [
        (9 * MiB + 7, [65536], MiB),  # python-glanceclient's chunks
        (3000, [1], 7),  # one-byte chunks, sent in pieces that split every line
        (5 * MiB + 3, [4 * MiB + 1, 3, 65536 - 5], 4099),  # chunks across blocks
        (200_000, [1, 2, 3, 4093, 4096, 4097, 100_000], 5),  # size lines split byte by byte
    ],
)
async def test_a_chunked_upload_is_received_into_blocks_and_the_connection_kept(
    api: Served,
    taken: list[BodyReceiver | None],
    size: int,
    chunk_sizes: list[int],
    piece: int,
) -> None:
    data = pattern(size)
    sizes = iter(chunk_sizes * (size // len(chunk_sizes) + 2))
    wire = chunked(data, sizes)
    reader, writer = await api.connect()
    image_id = await new_image(api, writer, reader)
    writer.write(upload(image_id, "Transfer-Encoding: chunked") + wire[:10])
    # The rest once the upload reads its body: a body all in before would be aiohttp's.
    await until(lambda: started(api, image_id), "the upload started")
    await send_in_pieces(writer, wire[10:], piece)
    assert (await no_content(reader)).startswith(b"HTTP/1.1 204")

    assert_stored(await shown(writer, reader, image_id), data)
    assert taken
    assert all(taken)


async def test_the_next_request_sent_right_after_a_body_is_answered(
    api: Served, taken: list[BodyReceiver | None]
) -> None:
    data = pattern(2 * MiB)
    reader, writer = await api.connect()
    image_id = await new_image(api, writer, reader)
    next_one = request("GET", f"/v2/images/{image_id}", {**ADMIN, "Accept": "application/json"})
    wire = upload(image_id, "Transfer-Encoding: chunked") + chunked(data, iter([MiB] * 3))
    writer.write(wire + next_one)  # pipelined behind the body
    await writer.drain()
    assert (await no_content(reader)).startswith(b"HTTP/1.1 204")
    head, body = await one_answer(reader)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert_stored(json.loads(body), data)


async def test_connection_close_is_honoured_after_the_body(api: Served) -> None:
    data = pattern(MiB + 1)
    reader, writer = await api.connect()
    image_id = await new_image(api, writer, reader)
    head = upload(image_id, f"Content-Length: {len(data)}\r\nConnection: close")
    writer.write(head + data)
    answer = await until_closed(reader)
    assert answer.startswith(b"HTTP/1.1 204"), answer


async def started(api: Served, image_id: str) -> bool:
    stream = await api.container.log.load_stream(uuid.UUID(image_id))
    return stream[-1].event_type == "image.upload_started"


async def failed_and_left_nothing(api: Served, image_id: str) -> None:
    async def failed() -> bool:
        stream = await api.container.log.load_stream(uuid.UUID(image_id))
        return stream[-1].event_type == "image.upload_failed"

    await until(failed, "the upload failed")
    assert stored_files(api.container) == []
    quotas = api.container.bus.context.quotas
    assert quotas is not None
    assert (await quotas.usage("proj-a")).bytes == 0


@pytest.mark.parametrize(
    "bad", [b"zz\r\n", b"5 \r\n", b"5\n", b"5;\x01\r\n", b"1" * 20 + b"\r\n", b"5\r\nabcdeXY"]
)
async def test_a_malformed_chunk_midway_is_refused_400_and_leaves_nothing(
    api: Served, taken: list[BodyReceiver | None], bad: bytes
) -> None:
    reader, writer = await api.connect()
    image_id = await new_image(api, writer, reader)
    writer.write(
        upload(image_id, "Transfer-Encoding: chunked") + chunked(pattern(MiB), iter([MiB]))[:-5]
    )
    await writer.drain()
    await until(lambda: started(api, image_id), "the upload started")
    writer.write(bad)

    answer = await until_closed(reader)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert b"chunked body is malformed" in answer
    await failed_and_left_nothing(api, image_id)
    assert taken
    assert all(taken)


async def unfinished_upload(
    api: Served, framing: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """An upload of 100 MiB (or of unknown size) whose client sent 1 MiB of it so far: less
    than the connection keeps of a body not yet taken, however late the upload reads it."""
    reader, writer = await api.connect()
    image_id = await new_image(api, writer, reader)
    body = pattern(MiB)
    wire = chunked(body, iter([65536] * 20))[:-5] if "chunked" in framing else body
    writer.write(upload(image_id, framing) + wire)
    await writer.drain()
    return reader, writer, image_id


@pytest.mark.parametrize("framing", ["Content-Length: 104857600", "Transfer-Encoding: chunked"])
async def test_a_client_gone_midway_leaves_nothing(
    api: Served, taken: list[BodyReceiver | None], framing: str
) -> None:
    _reader, writer, image_id = await unfinished_upload(api, framing)
    await until(lambda: started(api, image_id), "the upload started")
    writer.transport.abort()
    await failed_and_left_nothing(api, image_id)
    assert taken
    assert all(taken)


async def test_a_body_cut_short_of_its_length_leaves_nothing(
    api: Served, taken: list[BodyReceiver | None]
) -> None:
    reader, writer = await api.connect()
    image_id = await new_image(api, writer, reader)
    writer.write(upload(image_id, f"Content-Length: {8 * MiB}") + pattern(5 * MiB))
    await writer.drain()
    await until(lambda: started(api, image_id), "the upload started")
    writer.write_eof()  # the client says it is done, short of the length it declared
    await until_closed(reader)
    await failed_and_left_nothing(api, image_id)


@pytest.mark.parametrize("framing", ["Content-Length: 104857600", "Transfer-Encoding: chunked"])
async def test_a_body_that_stalls_midway_is_answered_408_and_leaves_nothing(
    impatient_api: Served, taken: list[BodyReceiver | None], framing: str
) -> None:
    reader, _writer, image_id = await unfinished_upload(impatient_api, framing)

    answer = await until_closed(reader)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    await failed_and_left_nothing(impatient_api, image_id)
    assert taken
    assert all(taken)
