"""Downloads: whole or one range, Content-MD5, no data, and the record of every transfer."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

from infra.bootstrap import Container
from infra.db.tables import event
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiClient,
    created_image_id,
    refused_without_change,
    uploaded_image_id,
)
from tests.waiting import until

DATA = bytes(range(256)) * 40  # 10 240 bytes


async def _sent_records(container: Container, expected: int) -> list[dict[str, Any]]:
    """The `image.data_sent` events, once `expected` of them are in (recorded as a transfer
    ends, so shortly after the client has the last byte)."""

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        rows = conn.execute(
            sa.select(event.c.data, event.c.metadata)
            .where(event.c.event_type == "image.data_sent")
            .order_by(event.c.position)
        )
        return [{**row.data, "actor": row.metadata["actor"]} for row in rows]

    async def enough() -> bool:
        return len(await container.database.read(read)) >= expected

    await until(enough, f"{expected} transfers recorded")
    return await container.database.read(read)


async def test_a_whole_download_has_the_bytes_their_md5_and_a_record(
    api: ApiClient, container: Container
) -> None:
    image_id = await uploaded_image_id(api, DATA, visibility="community")
    response = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_B)
    assert response.status == 200
    assert response.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert response.headers["Content-Length"] == str(len(DATA))
    assert "Content-Range" not in response.headers
    assert await response.read() == DATA
    [record] = await _sent_records(container, 1)
    assert record["image_id"] == image_id
    assert record["owner"] == "proj-a"
    assert (record["bytes_sent"], record["requested"], record["offset"]) == (len(DATA),) * 2 + (0,)
    assert record["actor"]["project_id"] == "proj-b"


@pytest.mark.parametrize(
    ("header", "value", "start", "end"),
    [
        ("Range", "bytes=0-9", 0, 9),
        ("Range", "bytes=100-", 100, len(DATA) - 1),
        ("Range", "bytes=-16", len(DATA) - 16, len(DATA) - 1),
        ("Range", "bytes=10000-99999", 10000, len(DATA) - 1),
        ("Range", "bytes=-99999", 0, len(DATA) - 1),
        ("Content-Range", "bytes 5-14/*", 5, 14),
    ],
)
async def test_one_range_answers_206_with_those_bytes(
    api: ApiClient, container: Container, header: str, value: str, start: int, end: int
) -> None:
    image_id = await uploaded_image_id(api, DATA)
    response = await api.get(f"/v2/images/{image_id}/file", headers={**PROJECT_A, header: value})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert await response.read() == DATA[start : end + 1]
    [record] = await _sent_records(container, 1)
    assert (record["offset"], record["bytes_sent"]) == (start, end - start + 1)


@pytest.mark.parametrize(
    ("header", "value", "status", "message"),
    [
        ("Range", f"bytes={len(DATA)}-", 416, "Invalid start position in Range header."),
        ("Range", "bytes=9-3", 416, "Invalid Range header."),
        ("Range", "lines=1-2", 416, "Invalid Range header."),
        ("Range", "bytes=-0", 416, "Invalid Range header."),
        ("Range", "bytes=0-1,4-5", 400, "Requests with multiple ranges are not supported"),
        ("Content-Range", "bytes 0-99999/*", 416, "Invalid stop position in Content-Range"),
        ("Content-Range", "bytes x-y/*", 416, "Invalid Content-Range header."),
    ],
)
async def test_a_range_that_cannot_be_served_is_refused(
    api: ApiClient, container: Container, header: str, value: str, status: int, message: str
) -> None:
    image_id = await uploaded_image_id(api, DATA)
    await refused_without_change(
        container,
        lambda: api.get(
            f"/v2/images/{image_id}/file", headers={**PROJECT_A, **JSON, header: value}
        ),
        status,
        message,
    )


async def test_an_image_without_data_answers_204_and_records_nothing(
    api: ApiClient, container: Container
) -> None:
    image_id = await created_image_id(api)
    response = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert response.status == 204
    assert await response.read() == b""
    assert await _sent_records(container, 0) == []


async def test_a_client_that_stops_reading_is_recorded_with_what_it_got(
    api: ApiClient, container: Container
) -> None:
    big = bytes(range(256)) * (32 * 1024 * 4)  # 32 MiB: more than the socket buffers hold
    image_id = await uploaded_image_id(api, big)
    response = await api.get(f"/v2/images/{image_id}/file", headers=PROJECT_A)
    assert response.status == 200
    await response.content.readexactly(1024)
    response.close()  # drop the connection mid-transfer
    [record] = await _sent_records(container, 1)
    assert record["requested"] == len(big)
    assert 1024 <= record["bytes_sent"] < len(big)
