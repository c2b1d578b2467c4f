"""The `catalog` command run as an operator runs it: a process of its own, with the settings
given and none of the environment's other `CATALOG_*` variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMAND_SECONDS = 120

Finished = subprocess.CompletedProcess[str]


def catalog_env(settings: dict[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    return {**kept, **settings}


def run_catalog(*args: str, settings: dict[str, str], cwd: Path) -> Finished:
    """`catalog ARGS…` in `cwd`, to its end: its status and what it wrote."""
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        env=catalog_env(settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )


def one_line_error(finished: Finished) -> str:
    """The one line a command that failed wrote, after `catalog: `, asserting it wrote no
    more (no traceback)."""
    assert finished.returncode == 1, (finished.returncode, finished.stdout, finished.stderr)
    lines = finished.stderr.splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("catalog: "), lines[0]
    return lines[0].removeprefix("catalog: ")
