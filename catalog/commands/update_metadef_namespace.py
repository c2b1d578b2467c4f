"""Change a metadata definitions namespace's own fields: PUT /v2/metadefs/namespaces/{name}.

As in Glance, every field is replaced: one the body leaves out takes its default (no display
name or description, `private`, not protected, owned by the caller's project).
"""

from __future__ import annotations

from catalog.claims import Claim, NamespaceNameClaim
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.metadef_access import change_namespace, no_namespace
from catalog.events import EventMetadata
from catalog.events.metadefs import MetadefNamespaceUpdated
from catalog.metadefs.namespace import Namespace
from catalog.policy import MetadefAccess


class UpdateMetadefNamespace(Command):
    name: str
    fields: MetadefNamespaceUpdated
    """Its `owner` unset: the caller's project."""


async def update_metadef_namespace(
    command: UpdateMetadefNamespace, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    fields = command.fields
    if fields.owner is None:
        fields = fields.model_copy(update={"owner": metadata.actor.project_id})

    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("modify_metadef_namespace")
        namespace.update(fields, context.clock.now())
        return namespace

    def claim(namespace: Namespace) -> Claim | None:
        if fields.namespace == command.name:
            return None
        refusal = (
            "Invalid update. It would result in a duplicate metadata definition namespace with"
            f" the same name of {fields.namespace}"
        )
        return NamespaceNameClaim(fields.namespace, namespace.id, refusal)

    return await change_namespace(
        context, command.name, metadata, decide, missing=no_namespace(command.name), claim=claim
    )
