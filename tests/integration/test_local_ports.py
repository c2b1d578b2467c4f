"""The local servers, and the servers tests start of their own, listen below the kernel's
ephemeral range: there, a client reconnecting to a stopped server can never be given the
server's port (and hold it, even by connecting to itself), so the server can always restart."""

from __future__ import annotations

import os
import re
import subprocess

from tests.own_services import SERVICES
from tests.serving import EPHEMERAL_PORTS, unused_ports


def ephemeral_range() -> range:
    low, high = (int(n) for n in EPHEMERAL_PORTS.read_text().split())
    return range(low, high + 1)


def test_the_local_services_listen_outside_the_ephemeral_range() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_LOCAL_")}
    printed = subprocess.run(
        [str(SERVICES), "env"], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    ports = [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", printed)]
    # PostgreSQL, Kafka, S3, Keystone and the two image endpoints it names, RabbitMQ, MariaDB
    assert len(ports) == 8
    assert not [port for port in ports if port in ephemeral_range()]


def test_ports_picked_for_a_test_s_own_servers_are_free_and_outside_the_ephemeral_range() -> None:
    ports = unused_ports(3)
    assert len(set(ports)) == 3
    assert not [port for port in ports if port in ephemeral_range()]
