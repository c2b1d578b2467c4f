"""Clients behind a proxy that serves the catalog under a path of its own: they find the API
through the versions document, and every request they make goes through the proxy."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from glanceclient import Client as GlanceClient
from keystoneauth1.adapter import Adapter
from keystoneauth1.noauth import NoAuth
from keystoneauth1.session import Session

from tests.e2e.conftest import IGNORE_SDK_DEPRECATIONS, PROJECT_A, StartServer, sdk

pytestmark = IGNORE_SDK_DEPRECATIONS

PREFIX = "/image"


@dataclass
class Proxy:
    """A proxy serving a catalog under PREFIX, saying so as a TLS-terminating proxy would."""

    url: str = ""
    """Where clients reach the catalog: the proxy's address and PREFIX."""
    catalog: str = ""
    """Where the proxy forwards to (set once the catalog serves)."""
    seen: list[str] = field(default_factory=list)
    """Each request the proxy forwarded: method and path."""


def proxy_handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Forwarding(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            proxy.seen.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            inner = self.path.removeprefix(PREFIX)
            if inner == self.path or inner[:1] not in ("", "/", "?"):
                self.send_error(404)  # not under the prefix: the catalog is not there
                return
            # The client's Host goes on as it came (nginx's `proxy_set_header Host $host`).
            headers = dict(self.headers.items())
            headers.update(
                {
                    "X-Forwarded-Host": self.headers["Host"],
                    "X-Forwarded-Proto": "http",
                    "X-Forwarded-Prefix": PREFIX,
                }
            )
            target = urlsplit(proxy.catalog)
            upstream = http.client.HTTPConnection(target.netloc, timeout=60)
            try:
                upstream.putrequest(self.command, f"/{inner.lstrip('/')}", skip_host=True)
                for key, value in headers.items():
                    upstream.putheader(key, value)
                upstream.endheaders(body)
                answer = upstream.getresponse()
                data = answer.read()
            finally:
                upstream.close()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._forward()

        def do_HEAD(self) -> None:
            self._forward()

        def do_POST(self) -> None:
            self._forward()

        def do_PUT(self) -> None:
            self._forward()

        def do_PATCH(self) -> None:
            self._forward()

        def do_DELETE(self) -> None:
            self._forward()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the requests are recorded in `seen`."""

    return Forwarding


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    """A proxy on a loopback port of its own."""
    proxy = Proxy()
    server = ThreadingHTTPServer(("127.0.0.1", 0), proxy_handler(proxy))
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    "front",
    [{"CATALOG_API_TRUSTED_PROXIES": "127.0.0.1"}, {"CATALOG_API_PUBLIC_ENDPOINT": "PROXY"}],
    ids=["trusted-proxy", "public-endpoint"],
)
def test_clients_find_the_api_at_the_proxy_and_go_through_it(
    serve: StartServer, proxy: Proxy, front: dict[str, str]
) -> None:
    proxy.catalog = serve({k: proxy.url if v == "PROXY" else v for k, v in front.items()})
    # Version discovery, as every OpenStack client and service does it with keystoneauth:
    # the versions document says where the API is.
    session = Session(auth=NoAuth(endpoint=proxy.url))
    adapter = Adapter(
        session, "image", endpoint_override=proxy.url, min_version="2", max_version="2.latest"
    )
    discovered = adapter.get_endpoint_data()
    assert discovered is not None
    assert discovered.url == f"{proxy.url}/v2/"
    conn = sdk(proxy.url, PROJECT_A)
    image = conn.image.create_image(
        name="proxied", disk_format="raw", container_format="bare", data=b"through"
    )
    assert [i.id for i in conn.image.images()] == [image.id]
    assert conn.image.download_image(image.id).content == b"through"
    paths = {request.split(" ", 1)[1].split("?")[0] for request in proxy.seen}
    assert {f"{PREFIX}/v2/images", f"{PREFIX}/v2/images/{image.id}/file"} <= paths


def test_glanceclient_pages_through_the_proxy(serve: StartServer, proxy: Proxy) -> None:
    proxy.catalog = serve({"CATALOG_API_TRUSTED_PROXIES": "127.0.0.1"})
    # A session, as in a cloud: glanceclient finds a version in an endpoint without a path only.
    session = Session(auth=NoAuth(endpoint=proxy.url), additional_headers=PROJECT_A)
    glance = GlanceClient("2", session=session, endpoint=proxy.url)
    created = {glance.images.create(name=f"p{n}")["id"] for n in range(3)}
    # `next` links are relative to the API's root: followed from the proxy's endpoint.
    assert {image["id"] for image in glance.images.list(page_size=1)} == created
    assert sum(request.startswith(f"GET {PREFIX}/v2/images?") for request in proxy.seen) >= 3
