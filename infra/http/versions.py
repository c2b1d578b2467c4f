"""The API versions served: which URL prefixes route to the API, and the versions document.

Glance advertises (and accepts in URLs) the cache API's versions, 2.14, 2.16 and 2.18, only
where a cache is configured; clients such as python-glanceclient look for them before they
call the cache API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from aiohttp import web

from infra.http.origin import public_url

OLDER = ("v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0")
CACHE_VERSIONS = ("v2.14", "v2.16", "v2.18")
# Glance lists them in these orders; clients pick by status, not position.
WITHOUT_CACHE = (("v2.15", "v2.9", "v2.17", *OLDER), "v2.17")
WITH_CACHE = (("v2.18", "v2.17", "v2.16", "v2.15", "v2.14", "v2.9", *OLDER), "v2.18")


@dataclass(frozen=True)
class ApiVersions:
    """The versions one server serves, as its configuration decides."""

    listed: tuple[str, ...]
    current: str

    @classmethod
    def served(cls, *, cache: bool) -> ApiVersions:
        listed, current = WITH_CACHE if cache else WITHOUT_CACHE
        return cls(listed, current)

    @cached_property
    def accepted(self) -> str:
        """The version tokens accepted in a URL (every one listed, and `v2`), as a regex."""
        minors = "|".join(re.escape(v.removeprefix("v2.")) for v in self.listed)
        return rf"v2(?:\.(?:{minors}))?"

    @property
    def route_prefix(self) -> str:
        """The routes' prefix: every accepted version routes to the same API."""
        return "/{version:" + self.accepted + "}"

    @cached_property
    def versioned(self) -> re.Pattern[str]:
        """Paths under a version this server accepts."""
        return re.compile(rf"/{self.accepted}(?:/|$)")

    def document(self, request: web.Request) -> dict[str, object]:
        href = public_url(request, "/v2/")
        return {
            "versions": [
                {
                    "id": v,
                    "status": "CURRENT" if v == self.current else "SUPPORTED",
                    "links": [{"rel": "self", "href": href}],
                }
                for v in self.listed
            ]
        }


API_VERSIONS = web.AppKey("api_versions", ApiVersions)


def versions_document(request: web.Request) -> dict[str, object]:
    return request.app[API_VERSIONS].document(request)


def accepted_version(request: web.Request) -> bool:
    """The request's path is under a version this server serves."""
    return request.app[API_VERSIONS].versioned.match(request.path) is not None
