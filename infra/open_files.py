"""The process's open-file limit, and the connections it leaves room for.

Every connection holds a file. A server that accepts until the limit can no longer open its
database connections, store files or logs: it then fails everyone, not only the newest client.
At start the server raises its soft limit to the hard one (allowed without privileges), then
keeps `FILES_FOR_THE_REST` files for everything but its clients.
"""

from __future__ import annotations

import contextlib
import resource
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

FILES_FOR_THE_REST = 256
"""Files kept for the database pool, stores, brokers, logs and the image cache."""
HIGHEST_ASKED = 1 << 20
"""What is asked for when the hard limit is unlimited (Linux refuses more than `nr_open`)."""


@dataclass(frozen=True)
class OpenFiles:
    soft: int
    hard: int
    raised_from: int

    def connections(self, wanted: int) -> int:
        """At most `wanted`, and no more than the limit leaves beside the rest (or half of
        it, for a limit too small to keep that much)."""
        room = max(self.soft - FILES_FOR_THE_REST, self.soft // 2, 1)
        return min(wanted, room)


def raise_open_files_limit() -> OpenFiles:
    """Raise the soft limit towards the hard one, where the system allows it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = soft = _finite(soft)
    if soft < _finite(hard):
        with contextlib.suppress(ValueError, OSError):  # not allowed: keep what there is
            resource.setrlimit(resource.RLIMIT_NOFILE, (_finite(hard), hard))
            soft = _finite(hard)
    return OpenFiles(soft=soft, hard=_finite(hard), raised_from=before)


def _finite(limit: int) -> int:
    return HIGHEST_ASKED if limit == resource.RLIM_INFINITY else limit


def connection_limit(wanted: int) -> int:
    """The connections this process may keep open, logged once with the limit it has."""
    files = raise_open_files_limit()
    limit = files.connections(wanted)
    log.info(
        "open_files_limit",
        soft=files.soft,
        hard=files.hard,
        raised_from=files.raised_from,
        max_connections=limit,
        max_connections_asked=wanted,
    )
    return limit
