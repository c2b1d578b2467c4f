"""Waiting for a server to answer survives a busy machine: a first answer that does not come in
time, or comes garbled, is "not yet", not a failure of the test."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import serving
from tests.serving import wait_until_serving

ANSWER = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"


@pytest.fixture
def running() -> Iterator[subprocess.Popen[bytes]]:
    """A process standing in for the server's, alive until the end of the test."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield process
    process.kill()
    process.wait()


def slow_to_start(first: bytes | None) -> tuple[str, threading.Thread]:
    """A server whose first connection gets `first` (None: nothing, ever) and whose second
    gets a proper answer."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener, listener.accept()[0] as stalled:
            stalled.recv(4096)
            if first is not None:
                stalled.sendall(first)
            answered, _ = listener.accept()
            with answered:
                answered.recv(4096)
                answered.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread


@pytest.mark.parametrize("first", [None, b"garbled\r\n\r\n"], ids=["no-answer", "garbled"])
def test_a_first_answer_late_or_garbled_is_waited_past(
    first: bytes | None,
    running: subprocess.Popen[bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serving, "ANSWER_SECONDS", 0.5)  # the first request gives up soon
    url, server = slow_to_start(first)
    wait_until_serving(url, running, tmp_path / "server.log")
    server.join()
