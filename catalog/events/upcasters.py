"""Upcasters: lift stored event data written with an older schema to the current one.

Stored events are never rewritten. When an event's shape changes, its class gets a higher
`schema_version` and a function here maps `(event_type, old_version)` to the next version's data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EventData = dict[str, Any]
Upcaster = Callable[[EventData], EventData]


def _upload_started_v1(data: EventData) -> EventData:
    # Before quotas were hard, an upload claimed nothing.
    return {**data, "reserved": 0}


def _staged_v1(data: EventData) -> EventData:
    # Staged before format inspection: nothing is known of the bytes' format.
    return {**data, "found_format": None, "virtual_size": None}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("image.upload_started", 1): _upload_started_v1,
    ("image.staged", 1): _staged_v1,
}
"""(event type, schema version it reads) -> function returning data of version + 1."""


def upcast(event_type: str, schema_version: int, data: EventData, target: int) -> EventData:
    """Apply upcasters one version at a time until `data` has the `target` schema version."""
    version = schema_version
    while version < target:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event_type} v{version}")
        data = step(data)
        version += 1
    return data
