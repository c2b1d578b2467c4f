"""Servers a test (or a benchmark) starts of its own: a port to put them on, and the wait
until they answer."""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import subprocess
import urllib.request
from pathlib import Path

from tests.waiting import eventually

EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 20000
"""Ports handed out start here, above the local services' defaults (infra/local/services)."""
STARTUP_SECONDS = 120.0
ANSWER_SECONDS = 60.0
"""How long a request to a server of one's own waits for its answer: a busy machine may be slow,
and a test's request that gave up would fail it."""

# What a server that is not (yet) up, or too busy to answer in time, makes a request raise.
NOT_ANSWERING = (OSError, http.client.HTTPException)


def unused_port() -> int:
    """A loopback port nothing is bound to now, outside the kernel's ephemeral range."""
    [port] = unused_ports(1)
    return port


def unused_ports(count: int) -> list[int]:
    """`count` different loopback ports nothing is bound to now, outside the kernel's
    ephemeral range.

    The kernel gives ports from that range to outgoing connections. A port it handed out
    (binding port 0) may be taken by any connection as soon as it is released, before the
    server binds it; and once a server there stops, a client reconnecting to it may be given
    that very port and connect to itself, so the server cannot start again. Below the range,
    only servers take ports.
    """
    low, high = (int(n) for n in EPHEMERAL_PORTS.read_text().split())
    candidates = range(LOWEST_PORT, low) if low > LOWEST_PORT else range(high + 1, 1 << 16)
    found: list[int] = []
    with contextlib.ExitStack() as probes:  # each port stays bound until all are found
        for port in random.sample(candidates, min(len(candidates), 200 + count)):
            probe = probes.enter_context(socket.socket())
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            found.append(port)
            if len(found) == count:
                return found
    raise RuntimeError("no unused loopback ports outside the ephemeral range")


def wait_until_serving(url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    """Until the `catalog serve` at `url` answers; if it exits first or never answers, an
    AssertionError with its output."""

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{output.read_text()}")
        urllib.request.urlopen(f"{url}/versions", timeout=ANSWER_SECONDS).close()
        return True

    eventually(
        answers,
        lambda: f"the server did not answer:\n{output.read_text()}",
        seconds=STARTUP_SECONDS,
        transient=NOT_ANSWERING,
    )
