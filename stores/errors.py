"""The errors every store driver raises; backend errors are translated into these."""

from __future__ import annotations


class StoreError(Exception):
    """Any failure of an image-data store."""


class StoreNotFound(StoreError):
    """No data at the location asked for."""


class SizeLimitExceeded(StoreError):
    """The incoming data grew past the allowed size while it streamed in."""


class StoreFull(StoreError):
    """The backend has no room left: disk full, quota reached."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached or failed to do its I/O; trying again later may work."""


class InvalidLocation(StoreError):
    """A key or location URL that this store does not hold or will not accept."""


class StoreReadOnly(StoreError):
    """The store only serves data that is already there (the http store)."""
