"""The data path: upload and download MB/s on the filesystem and S3 stores, and memory.

    python -m bench.data_path [--mib 512] [--big-gib 2] [--no-filesystem]
                              [--s3-endpoint URL --s3-access-key KEY --s3-secret-key SECRET
                               --s3-part-mib 16 --s3-rounds 3 --s3-pid PID]

Starts its own `catalog serve` (embedded; data under the current directory, so on the disk being
measured) and prints every figure next to its limit, measured in the same run on the same data:
- upload: the slower of md5 ∥ sha512 hashing and an fsync'd write to the same disk (filesystem),
  or a raw multipart upload straight to the S3 endpoint, timed in turns with the catalog's,
  with the CPU each cost (S3, `bench/s3_data_path.py`);
- download: the stored file sent with sendfile over loopback by the bench itself (page cache,
  warm), read from the disk after dropping it from the cache (cold), or a plain GetObject from
  the endpoint (S3); every download is received by the same plain-socket reader;
- memory: the server's resident set, sampled during an upload of `--big-gib`, against 150 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp

from bench.limits import fsync_write_mb_per_s, hashing_mb_per_s
from bench.run import GLANCE_UPLOAD_MB_S, IDENTITY, machine
from bench.server import running_server

MiB = 1 << 20
CHUNK = MiB
RSS_LIMIT_MIB = 150.0
GLANCE_WORKERS_RSS_MIB = 574


def sample_data(size: int) -> bytes:
    """Incompressible bytes: a random 4 MiB block, each copy with its own prefix."""
    block = os.urandom(4 * MiB)
    return (
        b"".join(i.to_bytes(8, "big") + block[8:] for i in range(size // len(block)))
        + block[: size % len(block)]
    )


async def chunks_of(data: bytes, size: int = CHUNK) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for offset in range(0, len(data), size):
        yield bytes(view[offset : offset + size])


async def _repeated(block: bytes, total: int) -> AsyncIterator[bytes]:
    """`total` bytes made of `block` over and over, never all held at once."""
    sent = 0
    while sent < total:
        piece = block[: min(len(block), total - sent)]
        for offset in range(0, len(piece), CHUNK):
            yield piece[offset : offset + CHUNK]
        sent += len(piece)


async def upload(
    url: str, body: AsyncIterator[bytes], size: int, *, sized: bool = True
) -> tuple[str, float]:
    """A new image's upload: its id and MB/s. With `Content-Length` and the declared size, or
    not `sized`: chunked and undeclared, as python-glanceclient sends it."""
    async with aiohttp.ClientSession(headers=IDENTITY) as session:
        async with session.post(
            f"{url}/v2/images",
            json={"name": "bench-data", "disk_format": "raw", "container_format": "bare"},
        ) as response:
            image_id: str = (await response.json())["id"]
        start = time.perf_counter()
        headers = {"Content-Type": "application/octet-stream"}
        if sized:
            headers |= {"Content-Length": str(size), "x-openstack-image-size": str(size)}
        async with session.put(
            f"{url}/v2/images/{image_id}/file", data=body, headers=headers
        ) as response:
            assert response.status == 204, await response.text()
        return image_id, size / (time.perf_counter() - start) / 1e6


async def download_mb_per_s(url: str, image_id: str) -> float:
    """GET …/file read by a plain socket into one buffer, so the figure is the server's (an
    HTTP client library parsing in Python would be the slower side on loopback)."""
    return await asyncio.to_thread(_download_blocking, url, image_id)


def _download_blocking(url: str, image_id: str) -> float:
    host, port = url.removeprefix("http://").split(":")
    identity = "".join(f"{k}: {v}\r\n" for k, v in IDENTITY.items())
    request = (
        f"GET /v2/images/{image_id}/file HTTP/1.1\r\nHost: {host}\r\n{identity}"
        "Connection: close\r\n\r\n"
    ).encode()
    buffer = bytearray(4 * MiB)
    view = memoryview(buffer)
    with socket.create_connection((host, int(port))) as connection:
        start = time.perf_counter()
        connection.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += connection.recv(65536)
        header, _, body = head.partition(b"\r\n\r\n")
        assert header.startswith(b"HTTP/1.1 200"), header
        length = next(
            int(line.split(b":", 1)[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        received = len(body)
        while received < length:
            count = connection.recv_into(view)
            if not count:
                break
            received += count
        elapsed = time.perf_counter() - start
    assert received == length, (received, length)
    return received / elapsed / 1e6


def read_mb_per_s(path: Path) -> float:
    """Reading a file through the page cache as fast as this process can."""
    buffer = bytearray(4 * MiB)
    start = time.perf_counter()
    total = 0
    with path.open("rb", buffering=0) as file:
        while count := file.readinto(buffer):
            total += count
    return total / (time.perf_counter() - start) / 1e6


def sendfile_mb_per_s(path: Path) -> float:
    """The file sent over a loopback connection with sendfile, by this process, to the same
    receiving socket code the downloads use: the ceiling for serving from the page cache."""
    size = path.stat().st_size
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve() -> None:
            connection, _ = server.accept()
            with connection, path.open("rb") as file:
                connection.recv(65536)
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode()
                connection.sendall(head)
                connection.sendfile(file)

        sender = threading.Thread(target=serve)
        sender.start()
        rate = _download_blocking(f"http://127.0.0.1:{port}", "loopback-limit")
        sender.join()
    return rate


def drop_from_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class RssSampler:
    """The highest resident set of a process (and its children) seen every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mib = max(self.peak_mib, sum(_rss_mib(p) for p in _tree(self.pid)))


def _tree(pid: int) -> Iterator[int]:
    yield pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    yield from map(int, children)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def report(name: str, rate: float, limit: float, limit_name: str) -> None:
    print(f"{name:<34} {rate:8.1f} MB/s = {rate / limit:6.1%} of {limit_name} {limit:8.1f} MB/s")


async def filesystem_figures(data: bytes, big: int, hashing: float) -> None:
    with tempfile.TemporaryDirectory(dir=".", prefix=".bench-") as tmp:
        folder = Path(tmp)
        writing = fsync_write_mb_per_s(data, folder)
        limit = min(hashing, writing)
        print(f"limit: md5 || sha512 {hashing:.1f} MB/s, fsync'd write {writing:.1f} MB/s")
        with running_server(folder) as (url, pid):
            image_id, rate = await upload(url, chunks_of(data), len(data))
            report(f"upload {len(data) // MiB} MiB (filesystem)", rate, limit, "limit")
            print(
                f"{'':<34} {rate / GLANCE_UPLOAD_MB_S:8.1f}x Glance's {GLANCE_UPLOAD_MB_S:.0f} MB/s"
            )
            stored = folder / "stores" / "file" / image_id
            read_mb_per_s(stored)  # into the page cache
            warm_limit = sendfile_mb_per_s(stored)
            warm = await download_mb_per_s(url, image_id)
            report("download, page cache (filesystem)", warm, warm_limit, "plain sendfile")
            drop_from_page_cache(stored)
            cold_limit = read_mb_per_s(stored)
            drop_from_page_cache(stored)
            cold = await download_mb_per_s(url, image_id)
            report("download, from disk (filesystem)", cold, cold_limit, "disk read")

            with RssSampler(pid) as sampler:
                _, big_rate = await upload(url, _repeated(data, big), big)
            report(f"upload {big / (1 << 30):.0f} GiB (filesystem)", big_rate, limit, "limit")
            print(
                f"server RSS during it: peak {sampler.peak_mib:6.1f} MiB"
                f" = {sampler.peak_mib / RSS_LIMIT_MIB:6.1%} of {RSS_LIMIT_MIB:.0f} MiB"
                f"  (Glance's four workers: {GLANCE_WORKERS_RSS_MIB} MiB)"
            )


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    print(f"platform: {platform.platform()}; upload goal: 80 % of the limit")
    data = sample_data(args.mib * MiB)
    hashing = hashing_mb_per_s(data)
    if not args.no_filesystem:
        await filesystem_figures(data, args.big_gib << 30, hashing)
    if args.s3_endpoint:
        # Imported only then: it imports this module's helpers.
        from bench.s3_data_path import s3_figures

        await s3_figures(args, data, hashing)


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=512, help="size of the measured image")
    parser.add_argument("--big-gib", type=int, default=2, help="size of the memory upload")
    parser.add_argument(
        "--no-filesystem", action="store_true", help="skip the filesystem store's figures"
    )
    parser.add_argument("--s3-endpoint", help="measure the S3 store against this endpoint too")
    parser.add_argument("--s3-access-key", default="")
    parser.add_argument("--s3-secret-key", default="")
    parser.add_argument(
        "--s3-part-mib", type=int, default=16, help="the part size of both S3 uploads"
    )
    parser.add_argument(
        "--s3-rounds", type=int, default=3, help="raw and catalog S3 uploads, in turn"
    )
    parser.add_argument("--s3-pid", type=int, help="the S3 server's pid, to report its CPU")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
