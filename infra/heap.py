"""The cycle collector and a long-running process's heap.

What a server makes while it starts (modules, settings, the app and its routes, schemas, the
policy, SQLAlchemy's and pydantic's structures) lives as long as the process: the cycle
collector can never free any of it, yet each of its full collections walks all of it. A
consumer catching up with a long log allocates fast and triggers full collections every
second or so; measured, each held the event loop (and so every request the process serves)
for 100-350 ms on two busy cores. Frozen out once started, the heap made at start is no longer
walked: a full collection goes over what came since.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Put everything alive now out of the cycle collector's sight, for the process's life
    (after a collection, so that garbage made while starting is not kept)."""
    gc.collect()
    gc.freeze()
