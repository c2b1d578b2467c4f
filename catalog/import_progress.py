"""How far an image's import (or copy) into its stores has come, as Glance shows it.

Glance keeps three properties on an image while it imports: `os_glance_import_task` (the task
holding the image's import lock), `os_glance_importing_to_stores` (the stores still to be
written, comma-separated) and `os_glance_failed_import` (the stores that failed). Clients wait on
them (Tempest's `wait_for_image_imported_to_stores`, `wait_for_image_copied_to_stores`). Both
the `Image` aggregate and the images view follow them with this one value, so the two cannot
disagree; once an image has been imported, the two store lists stay shown (empty), as Glance's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

IMPORT_TASK = "os_glance_import_task"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
PROGRESS = (IMPORT_TASK, IMPORTING, FAILED)


def _listed(value: str | None) -> tuple[str, ...]:
    return tuple(name for name in (value or "").split(",") if name)


@dataclass(frozen=True)
class ImportProgress:
    task: str | None = None
    importing: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    shown: bool = False
    """Whether the image ever began an import: only then are the store lists shown."""

    @classmethod
    def of(cls, properties: Mapping[str, str]) -> ImportProgress:
        """Read back from the properties an image shows."""
        return cls(
            task=properties.get(IMPORT_TASK),
            importing=_listed(properties.get(IMPORTING)),
            failed=_listed(properties.get(FAILED)),
            shown=IMPORTING in properties,
        )

    def started(self, task: str, stores: Iterable[str]) -> ImportProgress:
        """As Glance: the stores asked join the importing ones and leave the failed ones."""
        asked = tuple(stores)
        importing = (*self.importing, *(s for s in asked if s not in self.importing))
        failed = tuple(s for s in self.failed if s not in asked)
        return ImportProgress(task, importing, failed, shown=True)

    def stored(self, store: str) -> ImportProgress:
        return replace(self, importing=tuple(s for s in self.importing if s != store))

    def failed_in(self, store: str) -> ImportProgress:
        failed = self.failed if store in self.failed else (*self.failed, store)
        return replace(self.stored(store), failed=failed)

    def ended(self, task: str) -> ImportProgress:
        """The lock is released by the task holding it only; the stores it did not write
        failed (else waiters would wait on them for ever)."""
        if self.task != task:
            return self
        failed = (*self.failed, *(s for s in self.importing if s not in self.failed))
        return ImportProgress(None, (), failed, self.shown)

    def shown_in(self, properties: Mapping[str, str]) -> dict[str, str]:
        """`properties` with this progress in place of the one they showed."""
        kept = {k: v for k, v in properties.items() if k not in PROGRESS}
        if self.task is not None:
            kept[IMPORT_TASK] = self.task
        if self.shown:
            kept[IMPORTING] = ",".join(self.importing)
            kept[FAILED] = ",".join(self.failed)
        return kept
