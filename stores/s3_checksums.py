"""What lets S3 refuse image data damaged on its way: a checksum sent with every body.

A part of a multipart upload carries its CRC32 (`x-amz-checksum-crc32`), a single PutObject the
MD5 of the whole image (`Content-MD5`), which the store digests anyway for the image's
`checksum`. AWS S3, MinIO, Ceph RGW (from 19) and S3Proxy recompute the checksum as the body
arrives and answer `BadDigest`, storing nothing, when it differs.

CRC32 rather than each part's MD5: the image's MD5 runs over the whole stream, so a part's MD5
is a third pass over every byte beside the image's MD5 and SHA-512, and zlib's CRC32 costs
about a third of an MD5 (docs/performance.md, "Data path"). A CRC is made to catch accidental
damage, which is what this check is for; TLS guards against deliberate changes on the way.
"""

from __future__ import annotations

import base64
import io
import zlib

PART_CHECKSUM_ALGORITHM = "CRC32"
"""The `ChecksumAlgorithm` a multipart upload is opened with; its parts carry that checksum."""


def crc32_of(body: io.BytesIO) -> str:
    """The `x-amz-checksum-crc32` header of `body` (base64 of the big-endian CRC), rewound.

    Blocks: run it in a worker thread (zlib releases the GIL on large buffers).
    """
    body.seek(0)
    with body.getbuffer() as data:
        crc = zlib.crc32(data)
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def content_md5(md5_hex: str) -> str:
    """The `Content-MD5` header of a body whose MD5 is `md5_hex`."""
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()
