"""Make a metadata definitions namespace what a definition file says (`catalog metadefs load`).

The operator's own command, so no policy rule applies, and a protected namespace is changed
too (Glance's loader writes its database directly). Loading the same definition again records
nothing; a changed one records only what changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from catalog.claims import NamespaceNameClaim
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.errors import Conflict
from catalog.events import EventMetadata
from catalog.metadefs.namespace import Namespace, NamespaceDefinition


class LoadMetadefNamespace(Command):
    definition: NamespaceDefinition


@dataclass(frozen=True)
class LoadedNamespace:
    name: str
    created: bool
    changes: int
    """Events recorded: 0 when the namespace already was as defined."""


async def load_metadef_namespace(
    command: LoadMetadefNamespace, context: CommandContext, metadata: EventMetadata
) -> LoadedNamespace:
    definition = command.definition
    name = definition.fields.namespace
    now = context.clock.now()
    stream_id = await context.namespaces.stream_of(name)
    if stream_id is None:
        stream_id = uuid.uuid4()
        namespace = Namespace.create(stream_id, definition, now)
        refusal = f"The metadata definition namespace={name} was created meanwhile: load again."
        recorded = await context.metadefs.save(
            namespace, metadata, NamespaceNameClaim(name, stream_id, refusal)
        )
        return LoadedNamespace(name, created=True, changes=len(recorded))

    def conform(namespace: Namespace) -> int:
        if not namespace.exists or namespace.name != name:
            raise Conflict(f"The namespace {name} was renamed or deleted meanwhile: load again.")
        namespace.conform_to(definition, now)
        return len(namespace.pending)

    changes = await context.metadefs.change(stream_id, metadata, conform)
    return LoadedNamespace(name, created=False, changes=changes)
