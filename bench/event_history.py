"""A realistic event log, made up without the API: images created and uploaded in bursts, then
changed now and then over their life (patches, tags, members, copies), some deleted, and
downloads recorded on streams of their own.

Rows come in log order with each stream's versions in sequence, shaped exactly as the catalog
stores its events (the rebuild decodes and validates every one of them).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EVENTS_PER_IMAGE = 6.8
"""About what one image of `_image_events` makes, used to size the history."""

TAGS = tuple(f"tag-{n}" for n in range(50))
DISTROS = ("debian", "ubuntu", "fedora", "centos", "cirros", "windows")
DISK_FORMATS = ("qcow2", "raw", "vmdk", "iso")
VISIBILITY = ("private",) * 10 + ("shared",) * 5 + ("public",) * 4 + ("community",)
PROJECTS = tuple(f"project-{n}" for n in range(1000))
LATER_EVENTS = {
    "update": 80,
    "tag": 50,
    "untag": 20,
    "deactivate": 10,
    "copy": 10,
    "failed copy": 2,
    "drop a copy": 2,
    "add a location": 2,
}
"""How often each kind of later change comes, relative to the others."""


@dataclass(frozen=True)
class StoredRow:
    """One row of the `event` table, as COPY takes it (data and metadata as JSON text)."""

    stream_id: uuid.UUID
    version: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    data: str
    metadata: str
    occurred_at: datetime

    def record(self) -> tuple[Any, ...]:
        return (
            self.stream_id,
            self.version,
            self.event_id,
            self.event_type,
            self.schema_version,
            self.data,
            self.metadata,
            self.occurred_at,
        )


COLUMNS = (
    "stream_id",
    "version",
    "event_id",
    "event_type",
    "schema_version",
    "data",
    "metadata",
    "occurred_at",
)
SCHEMA_VERSIONS = {"image.upload_started": 2, "image.staged": 2}

_Event = tuple[float, str, dict[str, Any]]  # seconds into the history, type, data


def history(events: int, seed: int = 1) -> list[StoredRow]:
    """`events` rows in log order, over about `events / EVENTS_PER_IMAGE` images."""
    rng = random.Random(seed)
    span = 365 * 24 * 3600.0
    start = datetime(2026, 1, 1, tzinfo=UTC)
    timed: list[tuple[float, int, StoredRow]] = []
    metadata = {p: _metadata(p) for p in PROJECTS}
    serial = 0
    while len(timed) < events * 1.05:
        image_id, owner = uuid.UUID(int=rng.getrandbits(128)), rng.choice(PROJECTS)
        streams = [(image_id, _image_events(rng, image_id, owner, span))]
        streams += [
            (uuid.UUID(int=rng.getrandbits(128)), [_download(rng, image_id, owner, at)])
            for at, kind, _ in streams[0][1]
            if kind == "image.uploaded" and rng.random() < 0.3
        ]
        for stream_id, stream in streams:
            for version, (at, kind, data) in enumerate(stream, start=1):
                row = StoredRow(
                    stream_id=stream_id,
                    version=version,
                    event_id=uuid.UUID(int=rng.getrandbits(128)),
                    event_type=kind,
                    schema_version=SCHEMA_VERSIONS.get(kind, 1),
                    data=json.dumps(data),
                    metadata=metadata[owner],
                    occurred_at=start + timedelta(seconds=at),
                )
                timed.append((at, serial, row))
                serial += 1
    timed.sort(key=lambda t: (t[0], t[1]))
    return [row for _, _, row in timed[:events]]


def _metadata(project: str) -> str:
    actor = {"user_id": f"user-of-{project}", "project_id": project, "roles": ["member"]}
    return json.dumps({"actor": actor, "request_id": None})


def _image_events(rng: random.Random, image_id: uuid.UUID, owner: str, span: float) -> list[_Event]:
    born = rng.uniform(0, span * 0.95)
    at = born
    visibility = rng.choice(VISIBILITY)
    events: list[_Event] = [(at, "image.created", _created(rng, owner, visibility))]
    location = f"file:///var/lib/catalog/images/{image_id}"
    size = rng.randrange(10 << 20, 20 << 30)
    if rng.random() < 0.9:
        if rng.random() < 0.05:  # a first try cut short
            at += rng.uniform(1, 60)
            events.append((at, "image.upload_started", _started(location, size, staging=False)))
            at += rng.uniform(1, 600)
            events.append(
                (at, "image.upload_failed", {"reason": "client gone", "location": location})
            )
        staging = rng.random() < 0.05
        at += rng.uniform(1, 60)
        events.append((at, "image.upload_started", _started(location, size, staging)))
        at += rng.uniform(5, 900)
        if staging:
            staged = {**_hashes(rng), "size": size, "found_format": "raw", "virtual_size": size}
            events.append((at, "image.staged", staged))
            at += rng.uniform(1, 60)
        uploaded = {**_hashes(rng), "store": "file", "location": location, "size": size}
        events.append((at, "image.uploaded", {**uploaded, "virtual_size": size}))
    later = sorted(rng.uniform(at, span) for _ in range(rng.choice((0, 1, 2, 3, 4, 5))))
    for moment in later:
        events += _later_event(rng, moment, location, size, image_id)
    if visibility == "shared":
        events += _members(rng, at, span)
    events.sort(key=lambda e: e[0])  # versions follow time, as appends do
    if rng.random() < 0.15:
        locations = [location] if len(events) > 3 else []
        events.append((rng.uniform(events[-1][0], span), "image.deleted", {"locations": locations}))
    return events


def _created(rng: random.Random, owner: str, visibility: str) -> dict[str, Any]:
    properties = {"os_distro": rng.choice(DISTROS), "os_version": str(rng.randrange(1, 30))}
    if rng.random() < 0.3:
        properties["hw_disk_bus"] = rng.choice(("virtio", "scsi"))
    return {
        "name": f"image-{rng.randrange(1_000_000)}",
        "disk_format": rng.choice(DISK_FORMATS),
        "container_format": "bare",
        "visibility": visibility,
        "protected": rng.random() < 0.02,
        "os_hidden": False,
        "min_ram": rng.choice((0, 0, 512, 1024)),
        "min_disk": rng.choice((0, 0, 1, 10)),
        "owner": owner,
        "tags": rng.sample(TAGS, rng.choice((0, 1, 1, 2, 3))),
        "properties": properties,
    }


def _started(location: str, size: int, staging: bool) -> dict[str, Any]:
    return {
        "store": "file",
        "location": location,
        "expected_size": size,
        "node_id": "node-bench",
        "staging": staging,
        "reserved": size,
    }


def _hashes(rng: random.Random) -> dict[str, Any]:
    return {
        "checksum": f"{rng.getrandbits(128):032x}",
        "os_hash_algo": "sha512",
        "os_hash_value": f"{rng.getrandbits(512):0128x}",
    }


def _later_event(
    rng: random.Random, at: float, location: str, size: int, image_id: uuid.UUID
) -> list[_Event]:
    match rng.choices(tuple(LATER_EVENTS), weights=tuple(LATER_EVENTS.values()))[0]:
        case "update":
            data: dict[str, Any] = {
                "attributes": {"name": f"image-{rng.randrange(1_000_000)}"}
                if rng.random() < 0.3
                else {},
                "properties": {"os_version": str(rng.randrange(1, 30))},
                "removed_properties": ["hw_disk_bus"] if rng.random() < 0.2 else [],
                "tags": rng.sample(TAGS, 2) if rng.random() < 0.2 else None,
            }
            return [(at, "image.updated", data)]
        case "tag":
            return [(at, "image.tag_added", {"tag": rng.choice(TAGS)})]
        case "untag":
            return [(at, "image.tag_removed", {"tag": rng.choice(TAGS)})]
        case "deactivate":
            return [(at, "image.deactivated", {}), (at + 3600, "image.reactivated", {})]
        case "failed copy":
            copy = {"store": "s3", "location": f"s3://images/{image_id}"}
            return [
                (at, "image.copy_started", {**copy, "node_id": "node-bench"}),
                (at + 60, "image.copy_failed", {**copy, "reason": "store unreachable"}),
            ]
        case "drop a copy":
            copy = {"store": "s3", "location": f"s3://images/{image_id}"}
            return [(at, "image.location_removed", copy)]
        case "add a location":
            url = f"https://images.example.net/{image_id}"
            added = {**_hashes(rng), "store": "web", "location": url, "size": size}
            return [(at, "image.location_added", {**added, "metadata": {}})]
        case _:
            copy = {"store": "s3", "location": f"s3://images/{image_id}"}
            return [
                (at, "image.copy_started", {**copy, "node_id": "node-bench"}),
                (at + 60, "image.copied", copy),
            ]


def _members(rng: random.Random, after: float, span: float) -> list[_Event]:
    events: list[_Event] = []
    for member in rng.sample(PROJECTS, rng.randrange(1, 5)):
        at = rng.uniform(after, span)
        events.append((at, "image.member_added", {"member": member}))
        status = rng.choice(("accepted", "accepted", "rejected", None))  # None: left pending
        if status is not None:
            changed = {"member": member, "status": status}
            events.append((at + 60, "image.member_status_changed", changed))
        if rng.random() < 0.1:
            events.append((at + 120, "image.member_removed", {"member": member}))
    return events


def _download(rng: random.Random, image_id: uuid.UUID, owner: str, after: float) -> _Event:
    size = rng.randrange(1 << 20, 1 << 30)
    data = {
        "image_id": str(image_id),
        "owner": owner,
        "bytes_sent": size,
        "offset": 0,
        "requested": size,
        "store": "file",
    }
    return (after + rng.uniform(60, 86400), "image.data_sent", data)


def rows_in_chunks(rows: list[StoredRow], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield [row.record() for row in rows[start : start + size]]
