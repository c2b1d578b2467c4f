"""Where the client reached the API: the root its absolute URLs are built on, and its address.

Behind a TLS-terminating proxy or a load balancer the catalog sees the proxy's connection, in
plain HTTP, to an inner address. The proxy says where the client came in: RFC 7239's
`Forwarded` (`proto=`, `host=`, `for=`), or the older `X-Forwarded-Proto`, `-Host` and `-For`;
`X-Forwarded-Prefix` names a path the proxy serves the API under. As oslo.middleware's
`http_proxy_to_wsgi` reads them: `Forwarded` wins over the `X-` headers, and of a list the
first element (the client's side) counts. They are believed only from the proxies in
`CATALOG_API_TRUSTED_PROXIES`: anyone else could make the catalog hand out links to a host of
their choosing. `CATALOG_API_PUBLIC_ENDPOINT` (Glance's `public_endpoint`) fixes the root for
every request instead.

The root makes every absolute URL the API returns: the versions document, `Location`, the
redirect of `/v2`. Links in bodies (`self`, `file`, `schema`, `first`, `next`) are paths from
the API's root (`/v2/images/…`), as Glance writes them: clients resolve them against the
endpoint they were given, whatever prefix it has.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from catalog.errors import BadRequest
from infra.settings import ApiSettings

_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(:[0-9]{1,5})?")
_PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)*")


@dataclass(frozen=True)
class Origin:
    root: str
    """Scheme, host and path prefix the client used, without a trailing slash:
    `https://cloud.example.com/image`."""
    client: str | None
    """The client's address, as the trusted proxy in front says; else the peer's."""

    def url(self, path: str) -> str:
        """The absolute URL of `path` (from the API's root, e.g. `/v2/`) for this client."""
        return self.root + path


def _first(value: str) -> str:
    return value.split(",", 1)[0].strip()


def _forwarded_element(header: str) -> dict[str, str]:
    """The first element of a `Forwarded` header, its keys lower-cased, quotes removed."""
    pairs = (pair.partition("=") for pair in _first(header).split(";"))
    return {key.strip().lower(): value.strip().strip('"') for key, _, value in pairs if value}


_CHECKS: dict[str, tuple[Callable[[str], object], str]] = {
    "proto": (lambda value: value.lower() in ("http", "https"), "is neither http nor https"),
    "host": (_HOST.fullmatch, "is not a host name"),
    "prefix": (lambda value: value.startswith("/") and _PREFIX.fullmatch(value), "is not a path"),
}
"""What URLs can be built with; the client's address (`for`) is only logged."""

Said = dict[str, tuple[str, str]]
"""What a proxy said: proto, host, for, prefix, each (if said) with where it was said."""


def _forwarded(headers: Mapping[str, str]) -> Said:
    said: Said = {}
    if "Forwarded" in headers:
        element = _forwarded_element(headers["Forwarded"])
        for key in ("proto", "host", "for"):
            if element.get(key):
                said[key] = (element[key], f"The {key} of the Forwarded header")
    else:
        for key in ("proto", "host", "for"):
            header = f"X-Forwarded-{key.title()}"
            if headers.get(header):
                said[key] = (_first(headers[header]), f"The {header} header")
    if headers.get("X-Forwarded-Prefix"):
        said["prefix"] = (headers["X-Forwarded-Prefix"].strip(), "The X-Forwarded-Prefix header")
    return said


def _usable(said: Said, key: str, otherwise: str) -> str:
    """What the proxy said of `key`, if it did, else `otherwise`; `BadRequest` for a value
    no URL can be built with."""
    if key not in said:
        return otherwise
    value, where = said[key]
    accepts, refusal = _CHECKS[key]
    if not accepts(value):
        raise BadRequest(f"{where} {refusal}.")
    return value


class Origins:
    """Finds each request's `Origin` from the API settings."""

    def __init__(self, api: ApiSettings) -> None:
        self._endpoint = api.public_endpoint
        self._trusted = api.proxy_networks()

    def _from_trusted_proxy(self, peer: str | None) -> bool:
        if not peer or not self._trusted:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._trusted)

    def of(self, request: web.BaseRequest) -> Origin:
        """`BadRequest` if a trusted proxy forwarded values no URL can be built with (and
        URLs are built with them: not with a public endpoint)."""
        said = _forwarded(request.headers) if self._from_trusted_proxy(request.remote) else {}
        client = said["for"][0] if "for" in said else request.remote
        if self._endpoint is not None:
            return Origin(self._endpoint, client)
        scheme = _usable(said, "proto", request.scheme).lower()
        host = _usable(said, "host", request.host)
        prefix = _usable(said, "prefix", "").rstrip("/")
        return Origin(f"{scheme}://{host}{prefix}", client)


ORIGINS = web.AppKey("origins", Origins)
ORIGIN_KEY = web.RequestKey("origin", Origin)


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request's origin, found once before the views run (inside the error middleware,
    which answers forwarded values that cannot be used)."""
    request[ORIGIN_KEY] = request.app[ORIGINS].of(request)
    return await handler(request)


def public_url(request: web.Request, path: str) -> str:
    """The absolute URL of `path` (from the API's root) as the client must use it."""
    return request[ORIGIN_KEY].url(path)
