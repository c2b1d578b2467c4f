"""A clock that stands still until a test moves it, for code that takes its clock as a
parameter."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
