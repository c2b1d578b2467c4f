"""A real `catalog serve` process: embedded, or on PostgreSQL + Kafka + S3."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openstack
import pytest
from glanceclient import Client as GlanceClient

from tests.conftest import service_setting, upload_head
from tests.serving import unused_port, wait_until_serving

STOP_SECONDS = 60

Server = subprocess.Popen[bytes]


def start_server(data_dir: Path, log: Path, extra_env: dict[str, str]) -> tuple[str, Server]:
    """A `catalog serve` on a free loopback port, answering; its output appended to `log`."""
    port = unused_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")},
        "CATALOG_DATA_DIR": str(data_dir),
        **extra_env,
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
    except BaseException:
        stop_server(process)
        raise
    return url, process


def stop_server(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def unfinished_upload(url: str, image_id: str, identity: dict[str, str]) -> socket.socket:
    """A connection on which an upload of 100 MiB has sent its first 8 MiB and waits, for the
    caller to cut short (close it, or kill the server)."""
    host, port = url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)))
    client.sendall(upload_head(host, image_id, 100 << 20, identity) + b"\0" * (8 << 20))
    return client


StartServer = Callable[[dict[str, str]], str]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[StartServer]:
    """A function that starts a server with extra environment and returns its base URL."""
    processes: list[Server] = []

    def start(extra_env: dict[str, str]) -> str:
        url, process = start_server(tmp_path / "data", tmp_path / "server.log", extra_env)
        processes.append(process)
        return url

    yield start
    for process in processes:
        stop_server(process)


@pytest.fixture
def embedded_server(serve: StartServer) -> str:
    return serve({})


@pytest.fixture
def full_server(serve: StartServer, postgres_url: str) -> str:
    """PostgreSQL for the log and views, S3 for the data, Kafka for the events."""
    suffix = uuid.uuid4().hex[:8]
    return serve(
        {
            "CATALOG_DATABASE_URL": postgres_url,
            "CATALOG_KAFKA_BOOTSTRAP_SERVERS": service_setting("CATALOG_TEST_KAFKA_BOOTSTRAP"),
            "CATALOG_KAFKA_EVENTS_TOPIC": f"catalog.events.e2e-{suffix}",
            "CATALOG_NOTIFICATIONS_TOPIC": f"catalog.notifications.e2e-{suffix}",
            **s3_store(),
        }
    )


def s3_store() -> dict[str, str]:
    """The settings of one store `s3` on the S3 server, in a new bucket of its own."""
    return {
        "CATALOG_STORES": "s3:s3",
        "CATALOG_STORE_S3_ENDPOINT": service_setting("CATALOG_TEST_S3_ENDPOINT"),
        "CATALOG_STORE_S3_ACCESS_KEY": service_setting("CATALOG_TEST_S3_ACCESS_KEY"),
        "CATALOG_STORE_S3_SECRET_KEY": service_setting("CATALOG_TEST_S3_SECRET_KEY"),
        "CATALOG_STORE_S3_REGION": service_setting("CATALOG_TEST_S3_REGION"),
        "CATALOG_STORE_S3_BUCKET": f"e2e-{uuid.uuid4().hex[:12]}",
    }


# -- callers, Python clients and command lines for the client suites ---------------------------


def caller(project: str, roles: str = "member,reader") -> dict[str, str]:
    """The identity headers a trusted front (keystonemiddleware) would pass on."""
    return {"X-Project-Id": project, "X-User-Id": f"user-{project}", "X-Roles": roles}


PROJECT_A = caller("proj-a")
PROJECT_B = caller("proj-b")
STRANGER = caller("proj-c")
READER_A = caller("proj-a", "reader")
ADMIN = caller("admin-proj", "admin,member,reader")

# The command lines cannot send identity headers, so they go without and the server's noauth
# mode makes them act as this project, with every role: an admin working in proj-a.
CLI_PROJECT = "proj-a"
BIN = Path(sys.executable).parent


def glance_api(url: str, identity: dict[str, str]) -> Any:
    """python-glanceclient's v2 API (it pops X-Auth-Token from the dict, so it gets a copy)."""
    return GlanceClient(endpoint=f"{url}/v2", token="unused", identity_headers=dict(identity))


def sdk(url: str, identity: dict[str, str]) -> Any:
    """openstacksdk without Keystone; every request of the session carries the identity."""
    conn = openstack.connect(auth_type="none", auth={"endpoint": url}, image_api_version="2")
    conn.session.additional_headers = dict(identity)
    return conn


@dataclass(frozen=True)
class Cli:
    """A client command line (`glance`, `openstack`) with its fixed leading arguments."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self, *args: str, stdin: Path | None = None, closed_stdin: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run it; `stdin`, if given, is a file fed to its standard input (else none, or
        `closed_stdin`: none open, as `<&-`, which the glance CLI needs to know it has no data
        to send)."""
        # A developer's OS_* settings (OS_CLOUD, OS_TOKEN, ...) must not steer the client; the
        # clients' own deprecation warnings are not the catalog's to fix.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        with stdin.open("rb") if stdin else open(os.devnull, "rb") as source:
            return subprocess.run(
                [*self.argv, *args],
                capture_output=True,
                timeout=120,
                check=False,
                stdin=source,
                env={**env, "PYTHONWARNINGS": "ignore", **self.env},
                text=True,
                preexec_fn=(lambda: os.close(0)) if closed_stdin else None,
            )

    def __call__(self, *args: str, stdin: Path | None = None, closed_stdin: bool = False) -> str:
        """Its standard output; a failure fails the test."""
        result = self.run(*args, stdin=stdin, closed_stdin=closed_stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-f", "json"))

    def fails(self, *args: str) -> str:
        """Its error output; a success fails the test."""
        result = self.run(*args)
        assert result.returncode != 0, result.stdout
        return result.stderr


class RefusingKeystone(BaseHTTPRequestHandler):
    """Keystone as a non-admin user meets it: version discovery answers, project lookups are 403.

    `openstack image add project` and `image set --accept --project` look the project up first;
    on a 403 the client uses the given id as is, which is what a real cloud's users rely on.
    """

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v3":
            status = 200
            link = {"rel": "self", "href": f"http://{self.headers['Host']}/v3/"}
            body: dict[str, Any] = {"version": {"id": "v3.14", "status": "stable", "links": [link]}}
        else:
            status = 403
            body = {"error": {"code": 403, "title": "Forbidden", "message": "Not allowed."}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: lookups are expected and not worth a line in the test output."""


@contextlib.contextmanager
def served_in_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on loopback, in a thread of the test's process: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def keystone() -> Iterator[str]:
    """The identity endpoint (…/v3) the `openstack` CLI asks for project lookups."""
    with served_in_thread(RefusingKeystone) as url:
        yield f"{url}/v3"


@pytest.fixture
def catalog(serve: StartServer) -> str:
    """An embedded catalog in which the command lines act as an admin of CLI_PROJECT."""
    return serve({"CATALOG_API_DEFAULT_PROJECT": CLI_PROJECT})


def openstack_cli(url: str, keystone: str) -> Cli:
    argv = (str(BIN / "openstack"), "--os-auth-type", "none", "--os-endpoint", url)
    return Cli(
        (*argv, "--os-image-api-version", "2"),
        {"OS_IDENTITY_ENDPOINT_OVERRIDE": keystone},
    )


def glance_cli(url: str) -> Cli:
    return Cli((str(BIN / "glance"), "--os-image-url", url, "--os-auth-token", "unused"))


# The SDK warns about its own deprecated internals; those are not the catalog's to fix.
IGNORE_SDK_DEPRECATIONS = [
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]
