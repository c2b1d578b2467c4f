"""The projections that exist, in the order they are applied."""

from __future__ import annotations

from catalog.projections.base import Projection
from catalog.projections.images import ImagesProjection
from catalog.projections.location_holders import LocationHoldersProjection
from catalog.projections.metadefs import MetadefsProjection
from catalog.projections.tasks import TasksProjection

INLINE_PROJECTIONS: tuple[Projection, ...] = (
    ImagesProjection(),
    LocationHoldersProjection(),
    MetadefsProjection(),
    TasksProjection(),
)
"""Updated in the same transaction as every append, so reads see a write as soon as it returns."""
