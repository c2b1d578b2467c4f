"""What an import plugin works on: one import's data on its way into the stores."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from catalog.commands.context import CommandContext
from catalog.commands.import_pipeline import DataSource
from catalog.events import EventMetadata
from catalog.ports import ConvertedDisk


@dataclass
class ImportRun:
    """One import, as its plugins see and change it."""

    context: CommandContext
    metadata: EventMetadata
    image_id: uuid.UUID
    source: DataSource
    """The bytes the stores will be written with: a plugin may replace them."""
    held: AsyncExitStack
    """What a plugin holds until the import ends (converted bytes): closed then, whichever
    way it ended."""
    converted: ConvertedDisk | None = None
    """Set when a plugin converted the bytes: the image's data and disk format become it."""


ImportPlugin = Callable[[ImportRun], Awaitable[None]]
"""A step of every import that brings an image data, between reading the bytes and writing
them into the stores. It fails the import by raising a `CatalogError` (the task tells its
message; the image goes back to `queued` without any of the import's bytes)."""
