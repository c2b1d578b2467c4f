"""Limits that keep one project's slow or stalled uploads from blocking it: so many uploads in
progress at once (429 beyond), and uploads of unknown size that claim quota in steps."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path

import pytest

from infra.bootstrap import Container
from infra.settings import QuotaSettings
from tests.conftest import upload_head
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    refused_without_change,
)
from tests.waiting import until

MiB = 1024 * 1024
OCTETS = {**PROJECT_A, **JSON, "Content-Type": "application/octet-stream"}


async def status_of(api: ApiClient, image_id: str) -> str:
    body = await (await api.get(f"/v2/images/{image_id}", headers=PROJECT_A)).json()
    status: str = body["status"]
    return status


async def stalled_upload(
    api: ApiClient, image_id: str, target: str = "file"
) -> asyncio.StreamWriter:
    """An upload (or staging) that sent a little of its body and waits, its image in progress."""
    _, writer = await asyncio.open_connection(api.host, api.port)
    head = upload_head(api.host, image_id, 10 * MiB, PROJECT_A)
    writer.write(head.replace(b"/file ", f"/{target} ".encode()) + b"x" * 1024)
    await writer.drain()
    streaming = "saving" if target == "file" else "uploading"

    async def started() -> bool:
        return await status_of(api, image_id) == streaming

    await until(started, f"the {target} upload started")
    return writer


@pytest.fixture
async def limited(
    tmp_path: Path, database_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    quotas = QuotaSettings(uploads_in_progress=2, image_size_total=100, upload_claim_step=1)
    return await api_for(embedded_settings(tmp_path, database_url, quotas=quotas))


async def test_uploads_beyond_those_a_project_may_have_in_progress_are_refused_429(
    limited: tuple[ApiClient, Container],
) -> None:
    api, container = limited
    upload, staging, third = [await created_image_id(api) for _ in range(3)]
    held = [await stalled_upload(api, upload), await stalled_upload(api, staging, "stage")]

    refused = await refused_without_change(
        container,
        lambda: api.put(f"/v2/images/{third}/file", data=io.BytesIO(b"data"), headers=OCTETS),
        429,
        "Project proj-a has 2 uploads in progress, the most it may have at once (2); try again"
        " once one of them ends.",
    )
    assert refused.headers["Retry-After"] == "10"
    assert await status_of(api, third) == "queued"
    # Another project is not held back by this one's uploads.
    other = await created_image_id(api, PROJECT_B)
    sent = {**OCTETS, **PROJECT_B}
    assert (await api.put(f"/v2/images/{other}/file", data=b"data", headers=sent)).status == 204

    held[0].transport.abort()  # one upload ends (interrupted): its place is free again

    async def back_to_queued() -> bool:
        return await status_of(api, upload) == "queued"

    await until(back_to_queued, "the interrupted upload ended")
    put = await api.put(f"/v2/images/{third}/file", data=io.BytesIO(b"data"), headers=OCTETS)
    assert put.status == 204, await put.text()
    held[1].transport.abort()


async def test_an_upload_of_unknown_size_claims_its_quota_in_steps(
    limited: tuple[ApiClient, Container],
) -> None:
    api, container = limited
    image_id = await created_image_id(api)
    _, writer = await asyncio.open_connection(api.host, api.port)
    head = upload_head(api.host, image_id, 0, PROJECT_A)
    writer.write(head.replace(b"Content-Length: 0", b"Transfer-Encoding: chunked"))
    writer.write(b"a\r\n0123456789\r\n")  # ten bytes, then the client stalls
    await writer.drain()

    async def usage() -> dict[str, dict[str, int]]:
        body = await (await api.get("/v2/info/usage", headers=PROJECT_A)).json()
        figures: dict[str, dict[str, int]] = body["usage"]
        return figures

    async def claims_its_first_step() -> bool:
        return (await usage())["image_size_total"]["usage"] == 1

    # A stalled upload of unknown size holds its first step (1 MiB), not the 100 MiB left: the
    # project's other uploads go on.
    await until(claims_its_first_step, "the upload claimed its first step")
    other = await created_image_id(api)
    sent = {**OCTETS, "x-openstack-image-size": str(99 * MiB)}
    assert (await _declared_only(api, other, sent)) == 99

    # As its bytes arrive it claims more, in steps, and only what it needs once it ends.
    for _ in range(3):
        writer.write(f"{MiB:x}\r\n".encode() + b"x" * MiB + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()

    async def active() -> bool:
        return await status_of(api, image_id) == "active"

    await until(active, "the upload completed")
    writer.close()
    events = [e.event_type for e in await container.log.load_stream(uuid.UUID(image_id))]
    assert events.count("image.upload_claim_grown") == 2  # 1 MiB, then 2, then 4
    assert (await usage())["image_size_total"]["usage"] == 4  # 3 MiB + 10 bytes, rounded up


async def _declared_only(api: ApiClient, image_id: str, headers: dict[str, str]) -> int:
    """Whether an upload of that declared size may start: the MiB it claims once started (its
    body is then cut short, which gives the claim back)."""
    _, writer = await asyncio.open_connection(api.host, api.port)
    declared = int(headers["x-openstack-image-size"])
    head = upload_head(api.host, image_id, declared, PROJECT_A)
    writer.write(
        head.replace(b"\r\n\r\n", f"\r\nx-openstack-image-size: {declared}\r\n\r\n".encode())
    )
    writer.write(b"x" * 1024)
    await writer.drain()

    async def saving() -> bool:
        return await status_of(api, image_id) == "saving"

    await until(saving, "the declared upload started")
    writer.transport.abort()

    async def queued() -> bool:
        return await status_of(api, image_id) == "queued"

    await until(queued, "the declared upload gave its claim back")
    return declared // MiB
