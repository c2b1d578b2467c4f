"""Translating what S3 and its client library raise into `StoreError`s."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from stores.errors import StoreError, StoreFull, StoreNotFound, StoreUnavailable

_NOT_FOUND = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}
_FULL = {"QuotaExceeded", "InsufficientStorage", "EntityTooLarge"}
# Bad credentials are the operator's to fix, not the client's: to a user the store is down.
# So is a store that got a body other than the one sent (BadDigest: it did not match its
# checksum): the damage happened on the way, nothing was stored, and a later try may get
# through (botocore's standard retries leave BadDigest to the caller).
_UNAVAILABLE = {
    "SlowDown",
    "ServiceUnavailable",
    "RequestTimeout",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "BadDigest",
}


def error_code(e: ClientError) -> str:
    """The S3 error code of a failed request ("NoSuchKey", "404", …), or ""."""
    return str(e.response.get("Error", {}).get("Code", ""))


def http_status(e: ClientError) -> int:
    """The HTTP status of a failed request, or 0 if unknown."""
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def store_error(e: ClientError, action: str) -> StoreError:
    """The `StoreError` for an error answer from S3."""
    code = error_code(e)
    status = http_status(e)
    message = f"{action}: {e}"
    if code in _NOT_FOUND or status == 404:
        return StoreNotFound(message)
    if code in _FULL:
        return StoreFull(message)
    if code in _UNAVAILABLE or status in (401, 403) or status >= 500:
        return StoreUnavailable(message)
    return StoreError(message)


@contextlib.contextmanager
def s3_errors(action: str) -> Iterator[None]:
    """Translate the errors of S3 calls made inside into `StoreError`s, saying what failed.

    Wrap only calls to S3: an error of the caller's own data stream must pass untouched.
    """
    try:
        yield
    except ClientError as e:
        raise store_error(e, action) from e
    except (BotoCoreError, aiohttp.ClientError, OSError) as e:
        # Connection refused or reset, timeouts, a response cut short.
        raise StoreUnavailable(f"{action}: {e}") from e
