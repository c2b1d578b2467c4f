"""Which resource types a namespace applies to: POST …/resource_types, DELETE
…/resource_types/{resource_type} (a resource type not seen before exists from then on)."""

from __future__ import annotations

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.metadef_access import change_namespace, no_namespace
from catalog.events import EventMetadata
from catalog.events.metadefs import MetadefResourceTypeAssociated
from catalog.metadefs.namespace import Namespace
from catalog.policy import MetadefAccess


class AssociateResourceType(Command):
    namespace: str
    association: MetadefResourceTypeAssociated


class DissociateResourceType(Command):
    namespace: str
    name: str


async def associate_resource_type(
    command: AssociateResourceType, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("add_metadef_resource_type_association")
        namespace.associate(command.association, context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )


async def dissociate_resource_type(
    command: DissociateResourceType, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(namespace: Namespace, access: MetadefAccess) -> None:
        access.enforce("remove_metadef_resource_type_association")
        namespace.dissociate(command.name, context.clock.now())

    await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )
