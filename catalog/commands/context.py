"""What every command handler works with, wired once by the composition root."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from catalog.commands.background import Background
from catalog.commands.repository import ImageRepository, NamespaceRepository, TaskRepository
from catalog.policy import Policy
from catalog.ports import (
    Certificates,
    Clock,
    DataStores,
    DiskConverter,
    LocationHolders,
    NamespaceStreams,
    QuotaUsage,
    RemoteData,
    ServiceCatalog,
)


class _NoCertificates:
    async def find(self, uuid: str, token: str | None) -> bytes | None:
        return None


NO_CERTIFICATES: Certificates = _NoCertificates()


@dataclass(frozen=True)
class Limits:
    image_size_cap: int = 1 << 40
    """The largest image accepted, in bytes (Glance's `image_size_cap`, 1 TiB)."""
    image_tag_quota: int = 128
    """Tags per image (Glance's `image_tag_quota`); negative means unlimited."""
    image_member_quota: int = 128
    """Members per image (Glance's `image_member_quota`); negative means unlimited."""
    image_property_quota: int = 128
    """Custom properties per image (Glance's `image_property_quota`); negative: unlimited."""


@dataclass(frozen=True)
class Deletion:
    """How deleting an image treats its data (Glance's `delayed_delete` and scrubber)."""

    delayed: bool = False
    """Keep the data of a deleted image (`pending_delete`) for the scrubber, restorable
    until it starts; off: the data goes with the image at once."""
    scrub_time: timedelta = timedelta(0)
    """How long after the delete the data may be scrubbed (Glance's `scrub_time`)."""
    store_attempts: int = 3
    """Times the scrubber asks a store to remove its copy, within one scrub, before giving up."""
    attempt_backoff: float = 0.5
    """Seconds before the second attempt; doubling after, randomised (jitter)."""
    retry_delay: timedelta = timedelta(minutes=5)
    """After a scrub failed: when the image's scrub is due again."""


class WorkingHere:
    """What this process is working on right now, by stream id: the images it streams bytes
    into (uploads, stagings, copies), or the tasks it runs.

    Recovery fails the work of processes that stopped. Work of this very process can be
    abandoned too, when its end could not be recorded (the database was down): it is recorded
    as running here, and is not. Recovery tells the two apart with this.
    """

    def __init__(self) -> None:
        self._ids: Counter[uuid.UUID] = Counter()

    @contextlib.contextmanager
    def working_on(self, stream_id: uuid.UUID) -> Iterator[None]:
        """Around the work, from before its start is recorded until its end is."""
        self.enter(stream_id)
        try:
            yield
        finally:
            self.leave(stream_id)

    def enter(self, stream_id: uuid.UUID) -> None:
        """The work starts (for work handed from one coroutine to another: `working_on`)."""
        self._ids[stream_id] += 1

    def leave(self, stream_id: uuid.UUID) -> None:
        self._ids[stream_id] -= 1
        if not self._ids[stream_id]:
            del self._ids[stream_id]

    def __contains__(self, stream_id: object) -> bool:
        return stream_id in self._ids

    def alive(
        self, stream_id: uuid.UUID, live_nodes: frozenset[str], here: str | None
    ) -> frozenset[str]:
        """The processes whose work on `stream_id` counts as alive: the live ones other than
        this one (`here`), and this one too only while it works on the stream. Asked just
        before recording a recovery, so work this process starts meanwhile is never failed."""
        others = frozenset(node for node in live_nodes if node != here)
        if here is not None and stream_id in self:
            return others | {here}
        return others


@dataclass(frozen=True)
class Tasks:
    """How tasks live (Glance's `[task]` options)."""

    time_to_live: timedelta = timedelta(hours=48)
    """How long a task is kept once it ended (Glance's `task_time_to_live`)."""
    remote: RemoteData | None = None
    """Where the tasks API's imports fetch their data from; None: such imports are refused."""


@dataclass(frozen=True)
class ImportPlugins:
    """The steps every import that brings an image its data runs before writing it into
    the stores (Glance's `[image_import_opts] image_import_plugins`), and their options."""

    enabled: tuple[str, ...] = ()
    """The plugins run, in order, by name (`catalog/commands/import_plugins`)."""
    output_format: str = "raw"
    """`image_conversion`: the disk format imported images are converted to."""
    converter: DiskConverter | None = None
    """`image_conversion`: what converts them (needed when it is enabled)."""
    inject: Mapping[str, str] = field(default_factory=dict)
    """`inject_image_metadata`: the properties every import sets."""
    ignore_user_roles: frozenset[str] = frozenset({"admin"})
    """`inject_image_metadata`: callers with one of these roles get no properties injected."""


COPIED_PROPERTIES = ("hw_", "trait:", "os_distro", "os_secure_boot", "os_type")
"""Glance's default `[glance_download_properties] extra_properties`."""


@dataclass(frozen=True)
class OtherRegions:
    """glance-download: images imported from other regions' image services."""

    catalog: ServiceCatalog | None = None
    """Where a caller's regions and their image services are found (Keystone's catalog);
    None: glance-download is not served."""
    copied_properties: tuple[str, ...] = COPIED_PROPERTIES
    """Prefixes of the properties of the remote image that the imported one gets (Glance's
    `[glance_download_properties] extra_properties`)."""


@dataclass(frozen=True)
class CommandContext:
    images: ImageRepository
    tasks: TaskRepository
    stores: DataStores
    clock: Clock
    holders: LocationHolders
    """Which images hold the bytes at a location: asked before any bytes are removed."""
    metadefs: NamespaceRepository
    namespaces: NamespaceStreams
    """Which stream holds the metadata definitions namespace of a name."""
    limits: Limits = Limits()
    node_id: str | None = None
    """This process, as recorded on the uploads it streams (see `recover_uploads`)."""
    streaming_here: WorkingHere = field(default_factory=WorkingHere)
    """The images this process streams bytes into."""
    tasks_here: WorkingHere = field(default_factory=WorkingHere)
    """The tasks this process runs."""
    background: Background = field(default_factory=Background)
    """The work requests started and did not wait for (closed with the process)."""
    task_settings: Tasks = Tasks()
    quotas: QuotaUsage | None = None
    """Per-project limits and usage; None: no project quotas."""
    deletion: Deletion = Deletion()
    policy: Policy = field(default_factory=Policy)
    """Who may do what (Glance's default rules unless an operator's policy file changes them)."""
    certificates: Certificates = field(default_factory=lambda: NO_CERTIFICATES)
    """Where the certificates of signed images are found; by default nowhere, so a signed
    image's data is refused (its certificate cannot be found)."""
    import_plugins: ImportPlugins = ImportPlugins()
    regions: OtherRegions = OtherRegions()
