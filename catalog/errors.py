"""Errors of the catalog domain and application.

Every error a client can cause derives from `CatalogError` and carries the HTTP status that
Glance answers for it; the HTTP layer maps them in one place.
"""

from __future__ import annotations

ACCESS_DENIED = "Access was denied to this resource."
"""The general message of some of Glance's 403s, before their detail."""


class CatalogError(Exception):
    """Root of every error the catalog raises on purpose."""

    status = 500
    retry_after: int | None = None
    """Seconds a client is told to wait before it tries again (`Retry-After`), if it may."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        # Glance shows some errors as a general message followed by a specific detail.
        self.detail = detail


class BadRequest(CatalogError):
    status = 400


class Forbidden(CatalogError):
    status = 403


class NotFound(CatalogError):
    status = 404


class Conflict(CatalogError):
    status = 409


class Gone(CatalogError):
    status = 410


class TooLarge(CatalogError):
    status = 413


class UnsupportedMediaType(CatalogError):
    status = 415


class ConversionRefused(CatalogError):
    """An import's bytes could not be converted to the disk format operators asked for: the
    import fails (its task tells why), as on Glance."""

    status = 400


class ServiceUnavailable(CatalogError):
    """Something the catalog depends on (a store, its database) cannot be used for now."""

    status = 503
    retry_after = 5


class DatabaseUnavailable(ServiceUnavailable):
    """The catalog's database cannot be reached: down, restarting, out of connections.

    Raised by the database adapter, which also logs the outage (once, not per caller); the work
    was not done, or its outcome is unknown, and may succeed when tried again.
    """

    said = "The catalog database is not available; try again later."

    def __init__(self) -> None:
        super().__init__(self.said)


class DatabaseBusy(DatabaseUnavailable):
    """Every connection to the catalog's database stayed in use while the work waited for one:
    the service is overloaded, not down. Nothing was done; it may succeed when tried again."""

    said = "The catalog is too busy to answer now; try again later."


class RequestTimeout(CatalogError):
    """The client stopped sending the request's body before its end."""

    status = 408


class TooManyRequests(CatalogError):
    """A limit on work in progress (not a quota): answered 429 with `Retry-After`, it passes
    once some of that work ends."""

    status = 429
    retry_after = 10


class RefusedLocation(BadRequest):
    """A location no configured store may reach: its scheme, its form or its address."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid location: {reason}")
        self.reason = reason


class InvalidStatusTransition(Conflict):
    """The image's status does not allow what was asked."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"Image status transition from {current} to {target} is not allowed")
        self.current = current
        self.target = target


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream first (expected version was stale).

    Not a `CatalogError`: handlers retry it; only when retries run out does it become a 409.
    """

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version
