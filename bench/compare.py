"""The catalog and another image service side by side: the same workload, in turns, one run.

    python -m bench.compare --compare-url http://127.0.0.1:9392 --compare-pid PID
                            [--rounds 3] [--seconds 5] [--upload-mib 256] [--postgres URL]

Starts its own `catalog serve` (embedded: SQLite and files under the current directory, or
`--postgres`), and drives it and the reference service at `--compare-url` (e.g. a Glance 33
under uWSGI; `--compare-pid` is its master process, whose workers are counted with it) with the
same client, alternating the two figure by figure, round by round. Each figure is printed with
the server CPU it cost (user + system time of the server's processes, from /proc), the ratio
between the two services in this run, and the aim it is held to. md5 and sha512 over the same
bytes, timed in this process, give the floor of an upload's CPU per MiB. A download is timed
twice: as the upload left the page cache (the catalog writes new files around it), and cold,
after the machine's page caches were dropped (as root only).

The reference answers with the identity in X-Project-Id / X-User-Id / X-Roles headers, as the
catalog's embedded default does (Glance: the reference server's `noauth-headers` flavour).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.data_path import MiB, chunks_of, download_mb_per_s, sample_data, upload
from bench.list_latency import latencies
from bench.run import creates_made, machine
from bench.server import cpu_seconds, running_server

IMAGES_LISTED = 1_000
LIST_REQUESTS = 200


@dataclass
class Service:
    name: str
    url: str
    pid: int
    images: int = 0
    uploaded: list[str] = field(default_factory=list)


@dataclass
class Sample:
    rate: float
    """Operations (or MB) per second."""
    cpu_ms: float
    """Server CPU per operation (or per MiB), in ms."""


async def measured(
    service: Service, work: Callable[[], Awaitable[tuple[float, int]]]
) -> tuple[float, float, int]:
    """Run `work` (which returns its rate and its operation count) and the server CPU it cost."""
    before = cpu_seconds(service.pid)
    rate, operations = await work()
    return rate, (cpu_seconds(service.pid) - before) * 1000 / max(operations, 1), operations


async def creates(service: Service, clients: int, seconds: float) -> Sample:
    async def work() -> tuple[float, int]:
        return await creates_made(service.url, clients, seconds)

    rate, cpu, done = await measured(service, work)
    service.images += done
    return Sample(rate, cpu)


async def uploads(service: Service, data: bytes) -> Sample:
    async def work() -> tuple[float, int]:
        image_id, rate = await upload(service.url, chunks_of(data), len(data))
        service.uploaded.append(image_id)
        return rate, len(data) // MiB

    rate, cpu, _ = await measured(service, work)
    service.images += 1
    return Sample(rate, cpu)


async def downloads(service: Service, size: int, *, cold: bool = False) -> Sample:
    """The last image uploaded, read back: from the page cache as the service left it, or
    `cold`, after every page cache of the machine was dropped (both services alike)."""

    async def work() -> tuple[float, int]:
        if cold:
            drop_page_caches()
        return await download_mb_per_s(service.url, service.uploaded[-1]), size // MiB

    rate, cpu, _ = await measured(service, work)
    return Sample(rate, cpu)


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_page_caches() -> None:
    os.sync()
    DROP_CACHES.write_text("1")


async def list_p99(service: Service) -> Sample:
    async def work() -> tuple[float, int]:
        timings = await latencies(service.url, "limit=20", LIST_REQUESTS)
        return statistics.quantiles(timings, n=100)[98], LIST_REQUESTS

    p99, cpu, _ = await measured(service, work)
    return Sample(p99, cpu)


async def fill(service: Service, count: int) -> None:
    """Create images until the service holds at least `count` made by this run."""
    while service.images < count:
        await creates(service, 8, 2.0)


def hashing_cpu_ms_per_mib(data: bytes) -> float:
    """md5 then sha512 over `data`: the CPU an upload cannot avoid, per MiB."""
    start = time.process_time()
    hashlib.md5(data, usedforsecurity=False).digest()
    hashlib.sha512(data).digest()
    return (time.process_time() - start) * 1000 / (len(data) / MiB)


@dataclass(frozen=True)
class Figure:
    label: str
    unit: str
    run: Callable[[Service], Awaitable[Sample]]
    higher_is_better: bool = True
    aim: float | None = None
    """The catalog's rate over the reference's at least (at most, where lower is better)."""


def figures(args: argparse.Namespace, data: bytes) -> list[Figure]:
    return [
        Figure("create, 1 client", "req/s", lambda s: creates(s, 1, args.seconds), aim=10.0),
        Figure("create, 8 clients", "req/s", lambda s: creates(s, 8, args.seconds)),
        Figure(f"upload {args.upload_mib} MiB", "MB/s", lambda s: uploads(s, data), aim=1.3),
        Figure(
            f"download {args.upload_mib} MiB, as left", "MB/s", lambda s: downloads(s, len(data))
        ),
        *(
            [
                Figure(
                    f"download {args.upload_mib} MiB, cold",
                    "MB/s",
                    lambda s: downloads(s, len(data), cold=True),
                )
            ]
            if os.access(DROP_CACHES, os.W_OK)
            else []
        ),
        Figure(
            f"list limit 20, >= {IMAGES_LISTED} images, p99",
            "ms",
            list_p99,
            higher_is_better=False,
        ),
    ]


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.rate for s in samples), statistics.median(s.cpu_ms for s in samples)
    )


def report(figure: Figure, ours: list[Sample], theirs: list[Sample]) -> None:
    def better(mine: Sample, other: Sample) -> float:
        """How many times better the catalog's figure is than the reference's."""
        return mine.rate / other.rate if figure.higher_is_better else other.rate / mine.rate

    mine, other = median(ours), median(theirs)
    ratio = better(mine, other)
    per = "MiB" if figure.unit == "MB/s" else "op"
    verdict = ""
    if figure.aim is not None:
        verdict = f"  aim >= {figure.aim:g}x: {'met' if ratio >= figure.aim else 'MISSED'}"
    print(
        f"{figure.label:<34} reference {other.rate:8.1f} {figure.unit:<5} catalog"
        f" {mine.rate:8.1f} {figure.unit:<5} = {ratio:5.2f}x{verdict}"
    )
    rounds = ", ".join(f"{better(a, b):.2f}" for a, b in zip(ours, theirs, strict=True))
    print(
        f"{'':<34} server CPU per {per}: reference {other.cpu_ms:6.2f} ms, catalog"
        f" {mine.cpu_ms:6.2f} ms ({other.cpu_ms / mine.cpu_ms:4.2f}x less); ratio by round:"
        f" {rounds}"
    )


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    data = sample_data(args.upload_mib * MiB)
    env = {"CATALOG_DATABASE_URL": args.postgres} if args.postgres else {}
    with (
        tempfile.TemporaryDirectory(dir=".", prefix=".bench-") as tmp,
        running_server(Path(tmp), env) as (url, pid),
    ):
        catalog = Service("catalog", url, pid)
        reference = Service("reference", args.compare_url, args.compare_pid)
        print(
            f"catalog: {'PostgreSQL' if args.postgres else 'SQLite'}, filesystem store;"
            f" reference: {reference.url} (process {reference.pid} and its children)"
        )
        for service in (catalog, reference):
            await fill(service, IMAGES_LISTED)
        results: dict[str, tuple[list[Sample], list[Sample]]] = {}
        for _ in range(args.rounds):
            for figure in figures(args, data):
                ours, theirs = results.setdefault(figure.label, ([], []))
                ours.append(await figure.run(catalog))
                theirs.append(await figure.run(reference))
        print(f"medians of {args.rounds} rounds, the two services in turn:")
        for figure in figures(args, data):
            report(figure, *results[figure.label])
        upload_cpu = median(results[f"upload {args.upload_mib} MiB"][0]).cpu_ms
        floor = hashing_cpu_ms_per_mib(data)
        print(
            f"upload CPU floor (md5 + sha512 here): {floor:.2f} ms/MiB; the catalog's"
            f" {upload_cpu:.2f} ms/MiB is {upload_cpu - floor:+.2f} ms above it"
            f" (aim: at most 3.6 ms/MiB and within 0.5 ms of the floor)"
        )
        create_cpu = median(results["create, 1 client"][0]).cpu_ms
        print(f"catalog CPU per create: {create_cpu:.2f} ms (aim: at most 2 ms)")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compare-url", required=True, help="the reference image service")
    parser.add_argument(
        "--compare-pid", required=True, type=int, help="its main process (children counted)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per create figure")
    parser.add_argument("--upload-mib", type=int, default=256)
    parser.add_argument("--postgres", help="PostgreSQL URL for the catalog instead of SQLite")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
