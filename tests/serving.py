"""Servers a test (or a benchmark) starts of its own: the wait until they answer."""

from __future__ import annotations

import http.client
import subprocess
import urllib.request
from pathlib import Path

from tests.waiting import eventually

STARTUP_SECONDS = 120.0
ANSWER_SECONDS = 10.0

# What a server that is not (yet) up, or too busy to answer in time, makes a request raise.
NOT_ANSWERING = (OSError, http.client.HTTPException)


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
