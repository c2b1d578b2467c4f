"""Waiting in tests for something to happen.

A poll until a condition holds, bounded by a generous deadline: never a count of rounds or a
fixed sleep standing in for the condition, so a busy machine makes a test slower, not failing.
Errors the caller names as transient (a connection refused, reset or timed out while a server
starts or restarts) count as "not yet".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_SECONDS = 120.0
POLL_SECONDS = 0.05

Transient = tuple[type[BaseException], ...]


def _failure(what: str | Callable[[], str], seconds: float) -> AssertionError:
    said = what() if callable(what) else what
    return AssertionError(f"not within {seconds:g} s: {said}")


def eventually(
    check: Callable[[], T],
    what: str | Callable[[], str],
    *,
    seconds: float = DEADLINE_SECONDS,
    transient: Transient = (),
) -> T:
    """The first true value `check` returns; an AssertionError saying `what` at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(*transient):
            if result := check():
                return result
        if time.monotonic() > deadline:
            raise _failure(what, seconds)
        time.sleep(POLL_SECONDS)


async def until(
    check: Callable[[], Awaitable[T]],
    what: str | Callable[[], str] = "the condition",
    *,
    seconds: float = DEADLINE_SECONDS,
    transient: Transient = (),
) -> T:
    """`eventually` for a check that is a coroutine (one still running at the deadline is
    cancelled)."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            while True:
                with contextlib.suppress(*transient):
                    if result := await check():
                        return result
                await asyncio.sleep(POLL_SECONDS)
    except TimeoutError:
        if not deadline.expired():
            raise  # the check's own
        raise _failure(what, seconds) from None
