"""Create a metadata definitions namespace, with contents if given: POST /v2/metadefs/namespaces."""

from __future__ import annotations

import uuid

from catalog.claims import NamespaceNameClaim
from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.metadef_access import NO_NAMESPACES
from catalog.events import EventMetadata
from catalog.metadefs.namespace import Namespace, NamespaceDefinition


class CreateMetadefNamespace(Command):
    definition: NamespaceDefinition
    """Its `owner` unset: the caller's project."""


async def create_metadef_namespace(
    command: CreateMetadefNamespace, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    definition = command.definition
    access = context.policy.metadef(metadata.actor, None, missing=NO_NAMESPACES)
    access.enforce("add_metadef_namespace")
    contents = (
        (definition.associations, "add_metadef_resource_type_association"),
        (definition.objects, "add_metadef_object"),
        (definition.properties, "add_metadef_property"),
        (definition.tags, "add_metadef_tag"),
    )
    access.enforce(*(rule for given, rule in contents if given))
    fields = definition.fields
    if fields.owner is None:
        fields = fields.model_copy(update={"owner": metadata.actor.project_id})
    stream_id = uuid.uuid4()
    namespace = Namespace.create(
        stream_id, definition.model_copy(update={"fields": fields}), context.clock.now()
    )
    name = fields.namespace
    refusal = f"The metadata definition namespace={name} already exists."
    await context.metadefs.save(namespace, metadata, NamespaceNameClaim(name, stream_id, refusal))
    return namespace
