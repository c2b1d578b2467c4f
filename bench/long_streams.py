"""What an image's length of history costs: a command, `?as_of=`, a history page.

    python -m bench.long_streams [--versions 10000] [--requests 30]

An embedded `catalog serve` (SQLite and files in a temporary folder) over a log holding two
images of the same project: a young one (10 events) and an old one (`--versions` events, made
by appending straight to the log, as years of re-tagging would leave it). Prints the median of
`--requests` of each (taken in turns), the old image against the young one:
- PATCH (a command: load, decide, append); aim: within 1.2x;
- GET with `?as_of=` now (the state folded from the latest snapshot that fits); aim: within 3x;
- a history page of 1,000 events, the first against one late in the history (the marker of the
  event at 90 %); aim: the same cost.
The first request on each image is left out of the medians: the old image's first load folds
its whole stream once and keeps a snapshot, as the first command after an upgrade would.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from bench.run import IDENTITY, machine
from bench.server import running_server
from catalog.events import EventMetadata, ImageCreated, ImageUpdated, NewEvent
from catalog.identity import Actor
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.db.tables import event

YOUNG_VERSIONS = 10
APPEND_CHUNK = 1000
PAGE = 1000
PATCH_HEADERS = {**IDENTITY, "Content-Type": "application/openstack-images-v2.1-json-patch"}
AIMS = {"PATCH": 1.2, "as_of": 3.0, "history page": 1.2}


@dataclass(frozen=True)
class Image:
    id: uuid.UUID
    versions: int
    late_marker: int
    """The log position of the event at 90 % of its history (a history page's marker)."""


async def seeded(data_dir: Path, versions: int) -> tuple[Image, Image]:
    """The young and the old image, appended to the embedded catalog's log."""
    database = open_database(f"sqlite:///{(data_dir / 'catalog.db').resolve()}")
    try:
        await upgrade(database)
        log = SqlEventLog(database, INLINE_PROJECTIONS)
        metadata = EventMetadata(actor=Actor(user_id="bench", project_id="bench"))
        young = await _image(log, metadata, YOUNG_VERSIONS)
        old = await _image(log, metadata, versions)
    finally:
        await database.close()
    return young, old


async def _image(log: SqlEventLog, metadata: EventMetadata, versions: int) -> Image:
    image_id = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(seconds=versions)

    def at(version: int) -> datetime:
        return start + timedelta(seconds=version)

    created = ImageCreated(name="long", owner="bench", disk_format="raw", container_format="bare")
    await log.append(image_id, 0, [NewEvent(event=created, occurred_at=at(1))], metadata)
    for first in range(2, versions + 1, APPEND_CHUNK):
        last = min(versions, first + APPEND_CHUNK - 1)
        updates = [
            NewEvent(event=ImageUpdated(properties={"build": str(v)}), occurred_at=at(v))
            for v in range(first, last + 1)
        ]
        await log.append(image_id, first - 1, updates, metadata)
    late = max(1, versions * 9 // 10)
    query = sa.select(event.c.position).where(
        event.c.stream_id == image_id, event.c.version == late
    )
    marker = await log.database.read(lambda conn: conn.execute(query).scalar_one())
    return Image(image_id, versions, int(marker))


Request = Callable[[int], Awaitable[None]]


async def medians_ms(small: Request, large: Request, count: int) -> tuple[float, float]:
    """The median times of `small(n)` and `large(n)` for n in 1..count, taken in turns (a busy
    machine slows both alike), after one of each left out."""
    await small(0)
    await large(0)
    times: tuple[list[float], list[float]] = ([], [])
    for n in range(1, count + 1):
        for request, taken in zip((small, large), times, strict=True):
            started = time.perf_counter()
            await request(n)
            taken.append(time.perf_counter() - started)
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


async def measure(url: str, young: Image, old: Image, count: int) -> list[tuple[str, float, float]]:
    """(what, young or first page ms, old or late page ms) of each cost."""
    async with aiohttp.ClientSession(headers=IDENTITY) as session:

        async def expect(response: aiohttp.ClientResponse, status: int) -> None:
            async with response:
                body = await response.read()
                assert response.status == status, body

        def patch(image: Image) -> Callable[[int], Awaitable[None]]:
            async def run(n: int) -> None:
                change = [{"op": "add", "path": "/bench_run", "value": str(n)}]
                sent = session.patch(
                    f"{url}/v2/images/{image.id}", json=change, headers=PATCH_HEADERS
                )
                await expect(await sent, 200)

            return run

        def as_of(image: Image) -> Callable[[int], Awaitable[None]]:
            async def run(n: int) -> None:
                now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                await expect(await session.get(f"{url}/v2/images/{image.id}?as_of={now}"), 200)

            return run

        def page(image: Image, marker: int | None) -> Callable[[int], Awaitable[None]]:
            query = f"limit={PAGE}" + (f"&marker={marker}" if marker is not None else "")

            async def run(n: int) -> None:
                path = f"{url}/v2/images/{image.id}/history?{query}"
                await expect(await session.get(path), 200)

            return run

        return [
            ("PATCH", *await medians_ms(patch(young), patch(old), count)),
            ("as_of", *await medians_ms(as_of(young), as_of(old), count)),
            ("history page", *await medians_ms(page(old, None), page(old, old.late_marker), count)),
        ]


def lines(figures: list[tuple[str, float, float]], young: Image, old: Image) -> list[str]:
    described = {
        "PATCH": (f"version {young.versions}", f"version {old.versions:,}"),
        "as_of": (f"version {young.versions}", f"version {old.versions:,}"),
        "history page": ("first page", f"page at event {old.versions * 9 // 10:,}"),
    }
    shown = []
    for what, small, large in figures:
        first, second = described[what]
        shown.append(
            f"{what}: {small:.1f} ms at {first}, {large:.1f} ms at {second}"
            f" = {large / small:.2f}x (aim <= {AIMS[what]:.1f}x)"
        )
    return shown


async def long_stream_costs(versions: int, count: int) -> list[str]:
    with tempfile.TemporaryDirectory(dir=".") as folder:
        data_dir = Path(folder)
        young, old = await seeded(data_dir, versions)
        with running_server(data_dir) as (url, _):
            figures = await measure(url, young, old, count)
    return lines(figures, young, old)


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    for line in await long_stream_costs(args.versions, args.requests):
        print(line)


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
