"""List latency: `GET /v2/images?limit=20` p50/p99 with a growing catalog.

    python -m bench.list_latency [--sizes 1000,10000,100000] [--requests 300] [--postgres URL]

Images are created through the real command path (events, inline projections), in-process and
concurrently, then a `catalog serve` process answers the list requests over loopback, one at a
time. The reference: Glance 33 on this kind of machine, p50 66 ms / p99 103 ms at 10 000 images.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.server import running_server
from catalog.commands.create_image import CreateImage
from catalog.events import EventMetadata
from catalog.identity import Actor
from infra import bootstrap
from infra.settings import CoreSettings, DatabaseSettings, Settings

GLANCE_AT_10K = (66.0, 103.0)
PROJECT = "bench"
IDENTITY = {"X-Project-Id": PROJECT, "X-User-Id": "bench", "X-Roles": "member,reader"}


async def seed(data_dir: Path, database_url: str | None, count: int, writers: int = 32) -> None:
    settings = Settings(
        core=CoreSettings(data_dir=data_dir), database=DatabaseSettings(url=database_url)
    )
    container = await bootstrap.build(settings)
    metadata = EventMetadata(actor=Actor(user_id="bench", project_id=PROJECT, roles=("member",)))
    remaining = count

    async def writer() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            command = CreateImage(
                name=f"img-{remaining}", disk_format="raw", container_format="bare", tags=("bench",)
            )
            await container.bus.dispatch(command, metadata)

    try:
        await asyncio.gather(*(writer() for _ in range(writers)))
    finally:
        await container.close()


async def latencies(url: str, requests: int) -> list[float]:
    timings = []
    async with aiohttp.ClientSession(headers=IDENTITY) as session:
        for _ in range(20):  # warm up
            async with session.get(f"{url}/v2/images?limit=20") as response:
                await response.read()
        for _ in range(requests):
            start = time.perf_counter()
            async with session.get(f"{url}/v2/images?limit=20") as response:
                assert response.status == 200
                await response.read()
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
            await seed(Path(tmp), url_db, size)
            seeded = size / (time.perf_counter() - start)
            env = {"CATALOG_DATABASE_URL": url_db} if url_db else {}
            with running_server(Path(tmp), env) as (url, _):
                timings = await latencies(url, args.requests)
            p50 = statistics.median(timings)
            p99 = statistics.quantiles(timings, n=100)[98]
            note = ""
            if size == 10_000:
                note = f"   (Glance: p50 {GLANCE_AT_10K[0]:.0f} ms, p99 {GLANCE_AT_10K[1]:.0f} ms)"
            print(
                f"{size:>7} images: p50 {p50:6.1f} ms, p99 {p99:6.1f} ms"
                f"   [seeded at {seeded:.0f} creates/s]{note}"
            )


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
