"""List latency: `GET /v2/images?limit=20` p50/p99 with a growing catalog.

    python -m bench.list_latency [--sizes 1000,10000,100000] [--requests 300] [--postgres URL]

Images are created through the real command path (events, inline projections), in-process and
concurrently, then a `catalog serve` process answers the list requests over loopback, one at a
time. Besides the first page, it times a page deep in the list (marker at the middle), other
sort orders from that marker, and filters on a tag and on a custom property, so that a figure
that grows with the catalog shows up here. The reference: Glance 33 on this kind of machine,
p50 66 ms / p99 103 ms at 10 000 images (first page).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench.server import running_server
from catalog.commands.create_image import CreatedImage, CreateImage
from catalog.events import EventMetadata
from catalog.identity import Actor
from infra import bootstrap
from infra.settings import CoreSettings, DatabaseSettings, Settings

GLANCE_AT_10K = (66.0, 103.0)
PROJECT = "bench"
IDENTITY = {"X-Project-Id": PROJECT, "X-User-Id": "bench", "X-Roles": "member,reader"}


DISTROS = ("debian", "ubuntu", "fedora", "cirros")
DISK_FORMATS = ("raw", "qcow2", "vmdk", "iso")


def shapes(marker: uuid.UUID) -> dict[str, str]:
    """The list requests timed: a label and the query string of each."""
    return {
        "first page": "limit=20",
        "page at the middle": f"limit=20&marker={marker}",
        "by name, middle": f"limit=20&sort=name:asc&marker={marker}",
        "by disk_format, size": f"limit=20&sort_key=disk_format&sort_key=size&marker={marker}",
        "tag filter": "limit=20&tag=t3",
        "property filter": "limit=20&os_distro=fedora",
    }


async def seed(
    data_dir: Path, database_url: str | None, count: int, writers: int = 32
) -> uuid.UUID:
    """Create `count` varied images; returns the id of one created halfway."""
    settings = Settings(
        core=CoreSettings(data_dir=data_dir), database=DatabaseSettings(url=database_url)
    )
    container = await bootstrap.build(settings)
    metadata = EventMetadata(actor=Actor(user_id="bench", project_id=PROJECT, roles=("member",)))
    names = random.Random(7).sample(range(count), count)
    remaining = count
    middle: uuid.UUID | None = None

    async def writer() -> None:
        nonlocal remaining, middle
        while remaining > 0:
            remaining -= 1
            n = remaining
            command = CreateImage(
                name=f"img-{names[n]:07d}",
                disk_format=DISK_FORMATS[n % len(DISK_FORMATS)],
                container_format="bare",
                tags=("bench", f"t{n % 10}"),
                properties={"os_distro": DISTROS[n % len(DISTROS)]},
            )
            created: CreatedImage = await container.bus.dispatch(command, metadata)
            if n == count // 2:
                middle = created.image_id

    try:
        await asyncio.gather(*(writer() for _ in range(writers)))
    finally:
        await container.close()
    assert middle is not None
    return middle


async def latencies(url: str, query: str, requests: int) -> list[float]:
    timings = []
    async with aiohttp.ClientSession(headers=IDENTITY) as session:
        for _ in range(10):  # warm up
            async with session.get(f"{url}/v2/images?{query}") as response:
                await response.read()
        for _ in range(requests):
            start = time.perf_counter()
            async with session.get(f"{url}/v2/images?{query}") as response:
                assert response.status == 200, await response.text()
                assert len((await response.json())["images"]) == 20
            timings.append((time.perf_counter() - start) * 1000)
    return timings


async def main(args: argparse.Namespace) -> None:
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"list latency, {database}, GET /v2/images?limit=20, {args.requests} requests")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=".", prefix=".bench-") as tmp:
            url_db = None
            if args.postgres:
                url_db = await fresh_database(args.postgres, f"catalog_bench_{size}")
            start = time.perf_counter()
            middle = await seed(Path(tmp), url_db, size)
            seeded = size / (time.perf_counter() - start)
            print(f"{size:>7} images   [seeded at {seeded:.0f} creates/s]")
            env = {"CATALOG_DATABASE_URL": url_db} if url_db else {}
            with running_server(Path(tmp), env) as (url, _):
                for label, query in shapes(middle).items():
                    timings = await latencies(url, query, args.requests)
                    p50 = statistics.median(timings)
                    p99 = statistics.quantiles(timings, n=100)[98]
                    note = ""
                    if size == 10_000 and label == "first page":
                        glance = GLANCE_AT_10K
                        note = f"   (Glance: p50 {glance[0]:.0f} ms, p99 {glance[1]:.0f} ms)"
                    print(f"  {label:<22} p50 {p50:6.1f} ms, p99 {p99:6.1f} ms{note}")


async def fresh_database(server_url: str, name: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; one database per size")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
