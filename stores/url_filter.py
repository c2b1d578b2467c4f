"""Which URLs an import may fetch by their form, as Glance's `import_filtering_opts`.

Schemes, hosts and ports each have an allow-list and a deny-list; when an allow-list is set,
only what it names passes and its deny-list is not read. This is checked on the URL as written
(and on every redirect's target); the addresses its host resolves to are `http_safety`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from yarl import URL

from stores.errors import InvalidLocation


@dataclass(frozen=True)
class Listed:
    """One part of a URL's filter: what is allowed (if anything is listed), else what is not."""

    allowed: frozenset[str] = frozenset()
    disallowed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allowed: Iterable[object] = (), disallowed: Iterable[object] = ()) -> Listed:
        return cls(
            frozenset(str(a).lower() for a in allowed),
            frozenset(str(d).lower() for d in disallowed),
        )

    def passes(self, value: str) -> bool:
        if self.allowed:
            return value.lower() in self.allowed
        return value.lower() not in self.disallowed


@dataclass(frozen=True)
class UrlFilter:
    """Nothing listed: every URL passes (the http store's locations; imports' filter is set
    by the operator, with Glance's defaults)."""

    schemes: Listed = Listed()
    hosts: Listed = Listed()
    ports: Listed = Listed()

    def check(self, url: URL) -> None:
        """`InvalidLocation` if `url` is not one an import may fetch."""
        if not self.schemes.passes(url.scheme):
            raise InvalidLocation(f"the scheme {url.scheme!r} is not allowed")
        host = (url.raw_host or "").rstrip(".")
        if not self.hosts.passes(host):
            raise InvalidLocation(f"the host {host!r} is not allowed")
        if url.port is None or not self.ports.passes(str(url.port)):
            raise InvalidLocation(f"the port {url.port} is not allowed")
