"""web-download through the clients that ask for it: `glance image-create-via-import
--import-method web-download --uri`, openstacksdk's `import_image(method="web-download")` and
`openstack image import --method web-download --uri` (the `openstack` CLI's `image create
--import` has no URL option). The data is served on loopback, which the catalog is told it
may fetch from, on any port."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.e2e.conftest import (
    CLI_PROJECT,
    IGNORE_SDK_DEPRECATIONS,
    PROJECT_A,
    StartServer,
    glance_cli,
    openstack_cli,
    sdk,
    served_in_thread,
)
from tests.waiting import eventually

pytestmark = IGNORE_SDK_DEPRECATIONS

DATA = b"downloaded from the web\n" * 4096


class Source(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(DATA)))
        self.end_headers()
        self.wfile.write(DATA)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def source() -> Iterator[str]:
    with served_in_thread(Source) as url:
        yield f"{url}/disk.raw"


@pytest.fixture
def fetching_catalog(serve: StartServer) -> str:
    """An embedded catalog that may fetch from loopback, on any port."""
    return serve(
        {
            "CATALOG_API_DEFAULT_PROJECT": CLI_PROJECT,
            "CATALOG_TASK_IMPORT_ALLOWED_NETWORKS": "127.0.0.0/8",
            "CATALOG_TASK_IMPORT_ALLOWED_PORTS": "",
        }
    )


def test_openstacksdk_imports_from_a_url(fetching_catalog: str, source: str) -> None:
    conn = sdk(fetching_catalog, PROJECT_A)
    image = conn.image.create_image(name="sdk-web", disk_format="raw", container_format="bare")
    conn.image.import_image(image, method="web-download", uri=source)
    shown = eventually(
        lambda: (found := conn.image.get_image(image.id)).status == "active" and found,
        "the import to end",
    )
    assert (shown.size, shown.checksum) == (len(DATA), hashlib.md5(DATA).hexdigest())
    assert conn.image.download_image(shown).content == DATA


def test_the_command_lines_import_from_a_url(
    fetching_catalog: str, keystone: str, source: str
) -> None:
    osc = openstack_cli(fetching_catalog, keystone)
    glance = glance_cli(fetching_catalog)
    output = glance(
        "image-create-via-import", "--import-method", "web-download", "--uri", source,
        "--disk-format", "raw", "--container-format", "bare", "--name", "glance-web",
        closed_stdin=True,
    )  # fmt: skip
    assert "glance-web" in output
    # `openstack image create` without data reads its standard input (and fails when it is
    # closed): the image to import into is made another way.
    created = sdk(fetching_catalog, PROJECT_A).image.create_image(
        name="osc-web", disk_format="raw", container_format="bare"
    )
    osc("image", "import", created.id, "--method", "web-download", "--uri", source)

    def active(name: str) -> bool:
        return [i["Status"] for i in osc.json("image", "list", "--name", name)] == ["active"]

    eventually(lambda: active("glance-web") and active("osc-web"), "the imports to end")
