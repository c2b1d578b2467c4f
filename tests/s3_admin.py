"""A plain S3 client beside the catalog, to see what is really in a bucket and clean it up."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
from botocore.config import Config

PART_DEADLINE_SECONDS = 60.0


class S3Admin:
    """One fresh bucket on the real S3 server (created by whoever writes to it first)."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str) -> None:
        self.settings = (endpoint, access_key, secret_key, region)
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(s3={"addressing_style": "path"}),
        )
        self.bucket = f"test-{uuid.uuid4().hex[:16]}"

    def store_options(self) -> dict[str, str]:
        """The options of an s3 store on this bucket (`CATALOG_STORE_<NAME>_<OPTION>`)."""
        endpoint, access_key, secret_key, region = self.settings
        return {
            "endpoint": endpoint,
            "access_key": access_key,
            "secret_key": secret_key,
            "region": region,
            "bucket": self.bucket,
        }

    def keys(self, prefix: str = "") -> list[str]:
        answer = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in answer.get("Contents", [])]

    def uploads(self, prefix: str = "") -> list[tuple[str, str]]:
        """The multipart uploads open on keys starting with `prefix`: (key, upload id)."""
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        return [(item["Key"], item["UploadId"]) for item in answer.get("Uploads", [])]

    def open_upload(self, key: str, parts: int = 1) -> str:
        """A multipart upload on `key` holding `parts` parts of 5 MiB, as a process killed
        mid-upload leaves it; its upload id."""
        if not self._bucket_exists():
            self.client.create_bucket(Bucket=self.bucket)
        upload_id: str = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)[
            "UploadId"
        ]
        for number in range(1, parts + 1):
            self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=b"\0" * (5 << 20),
            )
        return upload_id

    def wait_for_a_part(self, key: str) -> None:
        """Return once an upload open on `key` holds a part; fail after a generous deadline."""
        deadline = time.monotonic() + PART_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            for upload_key, upload_id in self.uploads(key) if self._bucket_exists() else []:
                answer = self.client.list_parts(
                    Bucket=self.bucket, Key=upload_key, UploadId=upload_id
                )
                if upload_key == key and answer.get("Parts"):
                    return
            time.sleep(0.05)
        raise AssertionError(f"no part of {key} reached the bucket in {PART_DEADLINE_SECONDS}s")

    def remove_bucket(self) -> None:
        if not self._bucket_exists():
            return  # never created: every test was skipped or failed early
        for key, upload_id in self.uploads():
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        for key in self.keys():
            self.client.delete_object(Bucket=self.bucket, Key=key)
        self.client.delete_bucket(Bucket=self.bucket)

    def _bucket_exists(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            return False
        return True
