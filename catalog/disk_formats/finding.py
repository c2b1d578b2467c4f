"""What one format's check concluded about a stream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    format: str
    virtual_size: int | None
    safety_failures: tuple[str, ...] = ()
    holds_raw_disk: bool = False
    """The format's data is a raw disk from the stream's first byte (a fixed VHD is one with a
    footer), so other checks may rightly recognise that disk's own layout (GPT, ISO) too."""
