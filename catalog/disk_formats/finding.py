"""What one format's check concluded about a stream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    format: str
    virtual_size: int | None
    safety_failures: tuple[str, ...] = ()
