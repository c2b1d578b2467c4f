"""Import plugins: steps operators enable for every import that brings an image its data
(glance-direct, web-download), as Glance's `[image_import_opts] image_import_plugins`;
copy-image runs none.

A plugin is one module with an `ImportPlugin` and one line in `PLUGINS`.
"""

from __future__ import annotations

from catalog.commands.import_plugins.base import ImportPlugin, ImportRun
from catalog.commands.import_plugins.image_conversion import convert_image
from catalog.commands.import_plugins.inject_image_metadata import inject_metadata

PLUGINS: dict[str, ImportPlugin] = {
    "image_conversion": convert_image,
    "inject_image_metadata": inject_metadata,
}
"""Every plugin an operator may enable, by Glance's name for it."""


async def run_plugins(run: ImportRun) -> None:
    """The plugins enabled, in order, on `run`."""
    for name in run.context.import_plugins.enabled:
        await PLUGINS[name](run)


__all__ = ["PLUGINS", "ImportPlugin", "ImportRun", "run_plugins"]
