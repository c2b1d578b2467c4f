"""The first benchmark: creates per second, upload speed against this machine's limit, memory.

    python -m bench.run [--upload-mib 512] [--seconds 5] [--postgres URL [--workers N]]

Starts its own `catalog serve` (embedded: SQLite and files in a temporary folder under the
current directory, so on the disk being measured), drives it over loopback and prints each figure
beside its limit, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.limits import fsync_write_mb_per_s, hashing_mb_per_s
from bench.server import peak_rss_mib, running_server

GLANCE_CREATES_PER_S = {1: 28.0, 8: 54.0}
GLANCE_UPLOAD_MB_S = 141.0
IDENTITY = {"X-Project-Id": "bench", "X-User-Id": "bench", "X-Roles": "admin,member,reader"}


async def creates_made(url: str, clients: int, seconds: float) -> tuple[float, int]:
    """`clients` creating images one after another for `seconds`: creates/s, and how many."""
    body = {"name": "bench", "disk_format": "raw", "container_format": "bare"}
    done = 0
    async with aiohttp.ClientSession(headers=IDENTITY) as session:
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                async with session.post(f"{url}/v2/images", json=body) as response:
                    assert response.status == 201, await response.text()
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return done / (time.perf_counter() - start), done


async def creates_per_second(url: str, clients: int, seconds: float) -> float:
    rate, _ = await creates_made(url, clients, seconds)
    return rate


async def upload_mb_per_s(url: str, data: bytes) -> float:
    async with aiohttp.ClientSession(headers=IDENTITY) as session:
        async with session.post(
            f"{url}/v2/images",
            json={"name": "big", "disk_format": "raw", "container_format": "bare"},
        ) as response:
            image_id = (await response.json())["id"]

        async def body() -> object:
            view = memoryview(data)
            for offset in range(0, len(data), 1 << 20):
                yield bytes(view[offset : offset + (1 << 20)])

        start = time.perf_counter()
        async with session.put(
            f"{url}/v2/images/{image_id}/file",
            data=body(),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
        ) as response:
            assert response.status == 204, await response.text()
        return len(data) / (time.perf_counter() - start) / 1e6


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    ) // (1 << 20)
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, Python {platform.python_version()}"


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    env = {"CATALOG_DATABASE_URL": args.postgres} if args.postgres else {}
    if args.workers > 1:
        env["CATALOG_API_WORKERS"] = str(args.workers)
    with (
        tempfile.TemporaryDirectory(dir=".", prefix=".bench-") as tmp,
        running_server(Path(tmp), env) as (url, pid),
    ):
        print(
            f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; store: filesystem;"
            f" server processes: {args.workers}"
        )
        for clients in (1, 8):
            rate = await creates_per_second(url, clients, args.seconds)
            glance = GLANCE_CREATES_PER_S[clients]
            print(
                f"create, {clients} client(s): {rate:8.1f} req/s"
                f"   ({rate / glance:5.1f}x Glance's {glance:.0f})"
            )

        data = os.urandom(args.upload_mib << 20)
        hashing = hashing_mb_per_s(data)
        writing = fsync_write_mb_per_s(data, Path(tmp))
        limit = min(hashing, writing)
        upload = await upload_mb_per_s(url, data)
        print(
            f"limit: md5 || sha512 {hashing:7.1f} MB/s, fsync'd write {writing:7.1f} MB/s"
            f" -> {limit:7.1f} MB/s"
        )
        print(
            f"upload {args.upload_mib} MiB: {upload:7.1f} MB/s = {upload / limit:5.1%} of limit "
            f"({upload / GLANCE_UPLOAD_MB_S:4.1f}x Glance's {GLANCE_UPLOAD_MB_S:.0f} MB/s)"
        )
        print(f"server peak RSS: {peak_rss_mib(pid):6.1f} MiB")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upload-mib", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--postgres", help="PostgreSQL URL for the log and views instead of SQLite")
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
