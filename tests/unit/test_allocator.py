"""The C allocator keeps freed memory for the next buffers (infra/allocator.py)."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import pytest

from infra import allocator

PAGE = 4096
BUFFER = 512 * 1024
BUFFERS = 48
"""24 MiB in buffers of 512 KiB, like an upload's socket reads: below `TRIM_THRESHOLD`."""

# Run in a process of its own: the settings last for the process's life.
FAULTS_OF_A_ROUND = textwrap.dedent(
    f"""
    import resource
    from infra.allocator import keep_freed_memory

    assert keep_freed_memory()

    def a_round():
        held = [bytes({BUFFER}) for _ in range({BUFFERS})]
        del held

    a_round()
    a_round()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a_round()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def test_buffers_freed_are_reused_without_new_page_faults() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FAULTS_OF_A_ROUND], capture_output=True, text=True, check=True
    )
    pages = BUFFERS * BUFFER // PAGE
    # With glibc's own thresholds the third round faults on about a quarter of its pages.
    assert int(done.stdout) < pages // 20


def test_a_c_library_without_mallopt_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes, "CDLL", lambda name: object())
    assert allocator.keep_freed_memory() is False
