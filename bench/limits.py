"""What this machine can do at best: the limits an upload's speed is compared with."""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BLOCK = 4 << 20


def hashing_mb_per_s(data: bytes) -> float:
    """md5 and sha512 over `data`, the two digests in parallel threads, block by block."""
    md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    view = memoryview(data)
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        for offset in range(0, len(data), BLOCK):
            block = view[offset : offset + BLOCK]
            for f in [pool.submit(md5.update, block), pool.submit(sha512.update, block)]:
                f.result()
    return len(data) / (time.perf_counter() - start) / 1e6


def fsync_write_mb_per_s(data: bytes, folder: Path) -> float:
    """Writing `data` to a new file in `folder` and fsyncing it, as a store does."""
    path = folder / "bench-write.tmp"
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        for offset in range(0, len(data), BLOCK):
            os.write(fd, view[offset : offset + BLOCK])
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    path.unlink()
    return len(data) / elapsed / 1e6
