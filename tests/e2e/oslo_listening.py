"""oslo.messaging's notification listener in a process of its own (tests/oslo_messaging_peer.py),
and what it was given."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

from tests.e2e.conftest import stop_server
from tests.waiting import eventually

STOP_SECONDS = 60


class Listener:
    """A running listener; `notifications` grows as it prints what it is given."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.notifications: list[dict[str, Any]] = []
        self.listening = threading.Event()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            try:
                said = json.loads(line)
            except ValueError:
                continue  # oslo's own lines
            if said == {"listening": True}:
                self.listening.set()
            elif isinstance(said, dict) and "event_type" in said:
                self.notifications.append(said)

    def close(self) -> None:
        """Once the process has exited: its output read to the end, and closed."""
        self._reader.join(STOP_SECONDS)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def said(self) -> str:
        return "".join(self.output[-40:])

    def distinct(self) -> list[dict[str, Any]]:
        """What it was given, each message once (delivery is at least once), in order."""
        seen: set[str] = set()
        once = []
        for notification in list(self.notifications):
            message_id = notification["metadata"]["message_id"]
            if message_id not in seen:
                seen.add(message_id)
                once.append(notification)
        return once


@contextlib.contextmanager
def oslo_listener(
    url: str, exchange: str, topic: str, pool: str | None = None
) -> Iterator[Listener]:
    """oslo.messaging's listener on `url`, listening to `topic` in `exchange`, started and
    stopped around the block."""
    command = [sys.executable, "-m", "tests.oslo_messaging_peer", "listen", url]
    command += ["--exchange", exchange, "--topic", topic, "--durable"]
    if pool is not None:
        command += ["--pool", pool]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    listener = Listener(process)
    try:
        eventually(
            lambda: listener.listening.is_set() or process.poll() is not None,
            lambda: f"the listener did not start:\n{listener.said()}",
        )
        assert listener.listening.is_set(), f"the listener exited:\n{listener.said()}"
        yield listener
    finally:
        stop_server(process)
        listener.close()
