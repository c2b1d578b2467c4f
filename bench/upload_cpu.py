"""Server CPU per MiB uploaded, against the hashing it cannot avoid, in one run.

    python -m bench.upload_cpu [--mib 256] [--rounds 5] [--baseline DIR]

Starts its own `catalog serve` (embedded: SQLite, the filesystem store under the current
directory, a storage quota so that every upload is counted against it) and uploads `--mib` of
incompressible bytes again and again, in turns with `Content-Length` and chunked (as
python-glanceclient sends it: chunks of 64 KiB, no declared size, so the upload claims its quota
in steps).
Each upload is printed with the server's CPU per MiB (user + system of its process, from
/proc) and its MB/s; then the medians, next to md5 + sha512 over the same bytes timed in this
process (the floor), and each server's peak resident memory.

`--baseline DIR` starts a second server from another checkout of the catalog (e.g. an export
of main: `git archive main | tar -x -C DIR`), run with this environment's packages, and
alternates the two upload by upload, so that a change is measured against the code before it
on the same host at the same moments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.compare import hashing_cpu_ms_per_mib
from bench.data_path import MiB, chunks_of, sample_data, upload
from bench.run import machine
from bench.server import cpu_seconds, peak_rss_mib, running_server

QUOTA_MIB = 1 << 20
"""The projects' storage quota: far above what the bench uploads, but on."""
BODIES = ("sized", "chunked")
GLANCECLIENT_CHUNK = 64 * 1024
"""The chunks python-glanceclient sends an image's data in (its `CHUNKSIZE`), each a chunk of
the body's chunked framing."""


@dataclass
class Server:
    name: str
    url: str
    pid: int
    cpu_ms_per_mib: dict[str, list[float]] = field(default_factory=dict)
    mb_per_s: dict[str, list[float]] = field(default_factory=dict)

    async def upload(self, data: bytes, body: str) -> None:
        before = cpu_seconds(self.pid)
        sized = body == "sized"
        chunks = chunks_of(data) if sized else chunks_of(data, GLANCECLIENT_CHUNK)
        _, rate = await upload(self.url, chunks, len(data), sized=sized)
        cpu_ms = (cpu_seconds(self.pid) - before) * 1000 / (len(data) / MiB)
        self.cpu_ms_per_mib.setdefault(body, []).append(cpu_ms)
        self.mb_per_s.setdefault(body, []).append(rate)
        print(f"  {self.name:<8} {body:<7} {cpu_ms:5.2f} ms/MiB {rate:7.1f} MB/s", flush=True)


@contextlib.contextmanager
def servers(baseline: Path | None) -> Iterator[list[Server]]:
    env = {"CATALOG_QUOTA_IMAGE_SIZE_TOTAL": str(QUOTA_MIB)}
    codes = {"this": None, **({"baseline": baseline.resolve()} if baseline else {})}
    with contextlib.ExitStack() as stack:
        started = []
        for name, code in codes.items():
            tmp = stack.enter_context(tempfile.TemporaryDirectory(dir=".", prefix=".bench-"))
            url, pid = stack.enter_context(running_server(Path(tmp), env, code=code))
            started.append(Server(name, url, pid))
        yield started


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    data = sample_data(args.mib * MiB)
    floors = []
    with servers(args.baseline) as started:
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}:")
            for body in BODIES:
                for server in started if round_ % 2 == 0 else started[::-1]:
                    await server.upload(data, body)
            floors.append(hashing_cpu_ms_per_mib(data))
        peaks = {server.name: peak_rss_mib(server.pid) for server in started}
    floor = statistics.median(floors)
    print(f"medians of {args.rounds} uploads of {args.mib} MiB each:")
    for server in started:
        for body in BODIES:
            cpu = statistics.median(server.cpu_ms_per_mib[body])
            rate = statistics.median(server.mb_per_s[body])
            print(
                f"{server.name:<8} {body:<7} {cpu:5.2f} ms/MiB ({cpu - floor:+.2f} over the"
                f" floor) {rate:7.1f} MB/s"
            )
        print(f"{server.name:<8} peak RSS {peaks[server.name]:.1f} MiB")
    print(f"floor: md5 + sha512 over the same bytes, {floor:.2f} ms/MiB (median of {args.rounds})")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=256, help="size of each upload")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout to alternate with")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
