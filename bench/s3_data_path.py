"""The S3 data path of `bench.data_path`: the catalog's upload and download beside a plain
client's, to the same S3 endpoint, in turns, in one run.

The reference is a raw multipart upload: the bench's own aiobotocore client, configured as the
store's client is (`stores.s3.client_config`), sends the same bytes in parts of the store's
size, one part at a time as the store does, and hashes nothing. The catalog receives them over
HTTP, digests md5 and sha512, checks the format, and sends each part with its CRC32. Each round
times the raw upload, then the catalog's; beside each rate, the CPU it cost per MiB: the
catalog server's (from /proc), the raw client's (this process), and the S3 server's when its
pid is given (`--s3-pid`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
import aiohttp
from botocore.exceptions import ClientError

from bench.data_path import MiB, chunks_of, download_mb_per_s, report, upload
from bench.run import IDENTITY
from bench.server import cpu_seconds, running_server
from stores.s3 import client_config
from stores.s3_errors import error_code

UPLOAD_GOAL = 0.8
"""The catalog's S3 upload at least at this fraction of the raw multipart upload's rate."""


@dataclass(frozen=True)
class Upload:
    mb_per_s: float
    cpu_ms_per_mib: float
    """CPU of the uploading side (the catalog server, or the raw client), per MiB."""
    s3_cpu_ms_per_mib: float | None
    """CPU of the S3 server, per MiB, when its pid is known."""

    def __str__(self) -> str:
        s3 = "" if self.s3_cpu_ms_per_mib is None else f", S3 server {self.s3_cpu_ms_per_mib:5.2f}"
        return f"{self.mb_per_s:7.1f} MB/s, CPU {self.cpu_ms_per_mib:5.2f} ms/MiB{s3}"


def s3_client(args: argparse.Namespace) -> Any:
    """A client straight to the S3 endpoint, set up as the store's own (an async context
    manager)."""
    return aioboto3.Session().client(
        "s3",
        endpoint_url=args.s3_endpoint,
        aws_access_key_id=args.s3_access_key,
        aws_secret_access_key=args.s3_secret_key,
        region_name="us-east-1",
        config=client_config(),
    )


def _cpu_of(pid: int | None) -> float:
    return 0.0 if pid is None else cpu_seconds(pid)


async def raw_upload(
    s3: Any, bucket: str, data: bytes, part_size: int, s3_pid: int | None
) -> Upload:
    """A plain multipart upload of `data` in parts of `part_size`, one part at a time."""
    key = f"raw-{uuid.uuid4().hex[:8]}"
    start, cpu, s3_cpu = time.perf_counter(), time.process_time(), _cpu_of(s3_pid)
    upload = await s3.create_multipart_upload(Bucket=bucket, Key=key)
    parts = []
    for number, offset in enumerate(range(0, len(data), part_size), start=1):
        part = await s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[offset : offset + part_size],
        )
        parts.append({"ETag": part["ETag"], "PartNumber": number})
    await s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    measured = _measured(len(data), start, time.process_time() - cpu, s3_pid, s3_cpu)
    await s3.delete_object(Bucket=bucket, Key=key)
    return measured


async def raw_download_mb_per_s(s3: Any, bucket: str, data: bytes) -> float:
    """A plain GetObject of `data`, read in 4 MiB chunks."""
    key = f"raw-{uuid.uuid4().hex[:8]}"
    await s3.put_object(Bucket=bucket, Key=key, Body=data)
    start = time.perf_counter()
    got = await s3.get_object(Bucket=bucket, Key=key)
    received = 0
    async for chunk in got["Body"].iter_chunks(4 * MiB):
        received += len(chunk)
    rate = received / (time.perf_counter() - start) / 1e6
    await s3.delete_object(Bucket=bucket, Key=key)
    return rate


async def catalog_upload(url: str, pid: int, data: bytes, s3_pid: int | None) -> Upload:
    cpu, s3_cpu = cpu_seconds(pid), _cpu_of(s3_pid)
    start = time.perf_counter()
    image_id, _ = await upload(url, chunks_of(data), len(data))
    measured = _measured(len(data), start, cpu_seconds(pid) - cpu, s3_pid, s3_cpu)
    async with aiohttp.ClientSession(headers=IDENTITY) as session:
        await session.delete(f"{url}/v2/images/{image_id}")
    return measured


def _measured(size: int, start: float, cpu: float, s3_pid: int | None, s3_cpu: float) -> Upload:
    """The rate since `start`, `cpu` seconds and the S3 server's CPU since `s3_cpu`, per MiB."""
    rate = size / (time.perf_counter() - start) / 1e6
    mib = size / MiB
    s3 = None if s3_pid is None else (cpu_seconds(s3_pid) - s3_cpu) * 1000 / mib
    return Upload(rate, cpu * 1000 / mib, s3)


async def remove_bucket(args: argparse.Namespace, bucket: str) -> None:
    """The bucket and whatever is left in it (objects, unfinished multipart uploads)."""
    async with s3_client(args) as s3:
        try:
            uploads = await s3.list_multipart_uploads(Bucket=bucket)
            for pending in uploads.get("Uploads", []):
                await s3.abort_multipart_upload(
                    Bucket=bucket, Key=pending["Key"], UploadId=pending["UploadId"]
                )
            async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    await s3.delete_object(Bucket=bucket, Key=item["Key"])
            await s3.delete_bucket(Bucket=bucket)
        except ClientError as e:
            # Reported, not raised: the error that brought us here matters more.
            if error_code(e) != "NoSuchBucket":
                print(f"could not remove the bucket {bucket}: {e}", file=sys.stderr)


async def s3_figures(args: argparse.Namespace, data: bytes, hashing: float) -> None:
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    try:
        await _s3_figures_in(args, bucket, data, hashing)
    finally:
        await remove_bucket(args, bucket)


async def _s3_figures_in(
    args: argparse.Namespace, bucket: str, data: bytes, hashing: float
) -> None:
    part_size = args.s3_part_mib * MiB
    print(
        f"S3: {args.s3_endpoint}, parts of {args.s3_part_mib} MiB; md5 || sha512 here "
        f"{hashing:.1f} MB/s; goal: the catalog's upload at least {UPLOAD_GOAL:.0%} of the raw one"
    )
    env = {
        "CATALOG_STORES": "s3:s3",
        "CATALOG_STORE_S3_ENDPOINT": args.s3_endpoint,
        "CATALOG_STORE_S3_ACCESS_KEY": args.s3_access_key,
        "CATALOG_STORE_S3_SECRET_KEY": args.s3_secret_key,
        "CATALOG_STORE_S3_BUCKET": bucket,
        "CATALOG_STORE_S3_PART_SIZE_MIB": str(args.s3_part_mib),
    }
    ratios = []
    with (
        tempfile.TemporaryDirectory(dir=".", prefix=".bench-") as tmp,
        running_server(Path(tmp), env) as (url, pid),
    ):
        async with s3_client(args) as s3:
            # The first upload also loads the client's S3 models: not part of what is measured.
            await upload(url, chunks_of(b"x"), 1)
            for round_ in range(1, args.s3_rounds + 1):
                raw = await raw_upload(s3, bucket, data, part_size, args.s3_pid)
                catalog = await catalog_upload(url, pid, data, args.s3_pid)
                ratios.append(catalog.mb_per_s / raw.mb_per_s)
                print(f"round {round_}: raw multipart upload  {raw}")
                print(
                    f"round {round_}: catalog upload (S3)    {catalog}  = {ratios[-1]:6.1%} of raw"
                )
            raw_get = await raw_download_mb_per_s(s3, bucket, data)
        print(
            f"upload {len(data) // MiB} MiB (S3): median {statistics.median(ratios):6.1%} of the "
            f"raw multipart upload (rounds: {', '.join(f'{r:.0%}' for r in ratios)})"
        )
        image_id, _ = await upload(url, chunks_of(data), len(data))
        download = await download_mb_per_s(url, image_id)
        report("download (S3)", download, raw_get, "plain GetObject")
        async with aiohttp.ClientSession(headers=IDENTITY) as session:
            await session.delete(f"{url}/v2/images/{image_id}")
