"""Transport URLs in oslo.messaging's form, as Glance's `transport_url` takes them.

    rabbit://user:pass@host:5672,user:pass@host2:5672/virtual_host
    kafka://host:9092,host2:9092/
    noop

Several hosts in one URL are one cluster (the client fails over between them); user names and
passwords are percent-encoded, as oslo.messaging reads them. `CATALOG_NOTIFICATIONS_TRANSPORT_URL`
may hold several URLs, separated by white space (a URL never contains any): each one is a
transport of its own, sent every notification.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

SCHEMES = ("rabbit", "kafka", "noop")
"""The transports there are; each has its driver in infra/notifications/routes.py."""
DEFAULT_PORTS = {"rabbit": 5672, "kafka": 9092}


@dataclass(frozen=True)
class TransportHost:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """`host:port`, an IPv6 host in brackets."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class TransportUrl:
    scheme: str
    hosts: tuple[TransportHost, ...] = ()
    virtual_host: str = ""
    """The path after the hosts (RabbitMQ's virtual host; empty: the broker's default, `/`)."""

    @property
    def shown(self) -> str:
        """The URL without its credentials, for logs and `catalog consumers`."""
        if self.scheme == "noop":
            return "noop"
        hosts = ",".join(host.address for host in self.hosts)
        return f"{self.scheme}://{hosts}/{quote(self.virtual_host, safe='')}"

    @property
    def key(self) -> str:
        """A short, stable name for where this URL leads: its scheme and a digest of its hosts
        and virtual host, so that new credentials keep it and another cluster does not."""
        digest = hashlib.sha256(self.shown.encode()).hexdigest()[:12]
        return f"{self.scheme}.{digest}"


def parse_transport_url(text: str) -> TransportUrl:
    """One URL; `ValueError` saying what is wrong with it (never showing a password)."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        if text == "noop":
            return TransportUrl("noop")
        raise ValueError("expected transport URLs, e.g. rabbit://user:pass@host:5672/ or noop")
    if scheme not in SCHEMES:
        known = ", ".join(name if name == "noop" else f"{name}://" for name in SCHEMES)
        raise ValueError(f"{_shown(text)}: unknown transport {scheme!r} (known: {known})")
    if scheme == "noop":
        return TransportUrl("noop")
    parts = urlsplit(f"//{rest}")
    if parts.query or parts.fragment:
        raise ValueError(f"{_shown(text)}: options after `?` are not read; remove them")
    hosts = tuple(_host(scheme, entry, text) for entry in parts.netloc.split(","))
    virtual_host = unquote(parts.path.removeprefix("/"))
    if scheme == "kafka":
        if any(host.username or host.password for host in hosts):
            raise ValueError(f"{_shown(text)}: Kafka is reached without credentials here")
        if virtual_host:
            raise ValueError(f"{_shown(text)}: Kafka has no virtual hosts; end the URL with /")
    return TransportUrl(scheme, hosts, virtual_host)


def parse_transport_urls(text: str) -> list[TransportUrl]:
    """Every URL in `text` (white space between them); `ValueError` for a mistake, and for a
    place named twice."""
    urls = [parse_transport_url(item) for item in text.split()]
    places = [url.shown for url in urls]
    for place in places:
        if places.count(place) > 1:
            raise ValueError(f"{place} is named twice")
    return urls


def _host(scheme: str, entry: str, text: str) -> TransportHost:
    credentials, _, address = entry.rpartition("@")
    username, has_password, password = credentials.partition(":")
    try:
        host, port = _address(address)
    except ValueError as e:
        raise ValueError(f"{_shown(text)}: {e}") from None
    if not host:
        raise ValueError(f"{_shown(text)}: a host is missing")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{_shown(text)}: port {port} is out of range")
    return TransportHost(
        hostname=host,
        port=DEFAULT_PORTS[scheme] if port is None else port,
        username=unquote(username) if credentials else None,
        password=unquote(password) if has_password else None,
    )


def _address(address: str) -> tuple[str, int | None]:
    """`host[:port]` or `[v6]:port` as host and port (None if not given)."""
    if address.startswith("["):
        host, _, port = address[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = address.partition(":")
    if not port:
        return host, None
    if not port.isdigit():
        raise ValueError(f"port {port!r} is not a number")
    return host, int(port)


def _shown(text: str) -> str:
    """A URL quoted, with anything between `://` and `@` (credentials) hidden."""
    scheme, _, rest = text.partition("://")
    rest = rest.partition("?")[0]  # options may hold secrets too
    entries = []
    for entry in rest.split(","):
        _, at, address = entry.rpartition("@")
        entries.append(f"***@{address}" if at else entry)
    return repr(f"{scheme}://{','.join(entries)}")
