"""What the S3 store's client puts on the wire for a part: its checksum, and no SHA-256 of the
body, over https as over http (botocore would otherwise hash every body once more)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from stores.s3 import client_config


class _Raw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


def sent_headers(endpoint: str, **part: Any) -> dict[str, str]:
    """The headers of an UploadPart through a client configured as the store's, answered
    before anything leaves the process."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="key",
        aws_secret_access_key="secret",
        region_name="us-east-1",
        config=client_config(),
    )
    seen: dict[str, str] = {}

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.update(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        )
        return AWSResponse(request.url, 200, {"ETag": '"etag"'}, _Raw())

    client.meta.events.register("before-send.s3.UploadPart", answer)
    client.upload_part(Bucket="b", Key="k", UploadId="u", PartNumber=1, **part)
    return seen


@pytest.mark.parametrize("endpoint", ["http://s3.invalid", "https://s3.invalid"])
def test_a_part_goes_unsigned_with_its_crc32(endpoint: str) -> None:
    headers = sent_headers(endpoint, Body=b"part bytes", ChecksumCRC32="AAAAAA==")
    assert headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert headers["x-amz-checksum-crc32"] == "AAAAAA=="
    assert "Content-MD5" not in headers  # the CRC32 is the part's only checksum
    assert "x-amz-trailer" not in headers  # nor one of botocore's own, sent after the body
