"""A server of a test's own from `infra/local/services` (PostgreSQL, Kafka, RabbitMQ), apart
from the shared ones the suite uses: its own state folder and ports, so the test may stop and
start it. It is stopped and its state removed at the end, whatever happens."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.serving import unused_ports

SERVICES = Path(__file__).resolve().parents[1] / "infra" / "local" / "services"
SCRIPT_SECONDS = 300
PORT_VARIABLES = {
    "pg": ("CATALOG_LOCAL_PG_PORT",),
    "kafka": ("CATALOG_LOCAL_KAFKA_PORT", "CATALOG_LOCAL_KAFKA_CONTROLLER_PORT"),
    "rabbitmq": ("CATALOG_LOCAL_RABBITMQ_PORT", "CATALOG_LOCAL_RABBITMQ_DIST_PORT"),
}
"""The ports each service listens on, as the script's settings name them."""


class OwnService:
    def __init__(self, name: str, state: Path, ports: dict[str, int]) -> None:
        self.name = name
        """`pg`, `kafka`, `rabbitmq`, as the script names them."""
        self.state = state
        """Its state folder (`CATALOG_LOCAL_STATE_DIR`)."""
        self._env = {
            **os.environ,
            "CATALOG_LOCAL_STATE_DIR": str(state),
            **{variable: str(port) for variable, port in ports.items()},
        }
        self.settings: dict[str, str] = {}
        """What `up` printed: CATALOG_TEST_POSTGRES_URL, CATALOG_TEST_KAFKA_BOOTSTRAP, …"""

    def _run(self, action: str) -> str:
        return subprocess.run(
            [str(SERVICES), action, self.name],
            env=self._env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            timeout=SCRIPT_SECONDS,
        ).stdout

    def up(self) -> None:
        for line in self._run("up").splitlines():
            variable, _, value = line.removeprefix("export ").partition("=")
            self.settings[variable] = value

    def down(self) -> None:
        self._run("down")

    def purge(self) -> None:
        self._run("purge")


@contextlib.contextmanager
def own_service(name: str, state: Path) -> Iterator[OwnService]:
    """Service `name` started in `state` on ports nothing uses now (one for each of its
    `PORT_VARIABLES`), and purged after."""
    port_variables = PORT_VARIABLES[name]
    ports = dict(zip(port_variables, unused_ports(len(port_variables)), strict=True))
    service = OwnService(name, state, ports)
    try:
        service.up()
        yield service
    finally:
        service.purge()
