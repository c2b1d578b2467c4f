"""The API versions served: which URL prefixes route to the API, and the versions document."""

from __future__ import annotations

import re

from aiohttp import web

from infra.http.origin import public_url

ACCEPTED = r"v2(?:\.(?:[0-7]|9|15|17))?"
"""Version tokens Glance accepts in a URL (without caching or multiple stores configured)."""
ROUTE_PREFIX = "/{version:" + ACCEPTED + "}"
VERSIONED = re.compile(rf"/{ACCEPTED}(?:/|$)")

CURRENT = "v2.17"
SUPPORTED = ("v2.15", "v2.9", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0")
# Glance lists them in this order; clients pick by status, not position.
LISTED = (SUPPORTED[0], SUPPORTED[1], CURRENT, *SUPPORTED[2:])


def versions_document(request: web.Request) -> dict[str, object]:
    href = public_url(request, "/v2/")
    return {
        "versions": [
            {
                "id": v,
                "status": "CURRENT" if v == CURRENT else "SUPPORTED",
                "links": [{"rel": "self", "href": href}],
            }
            for v in LISTED
        ]
    }
