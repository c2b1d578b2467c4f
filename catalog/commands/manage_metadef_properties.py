"""A namespace's property definitions: POST …/properties, PUT and DELETE
…/properties/{property_name}."""

from __future__ import annotations

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.metadef_access import change_namespace, no_namespace
from catalog.events import EventMetadata
from catalog.events.metadefs import PropertyDefinition
from catalog.metadefs.namespace import Namespace
from catalog.policy import MetadefAccess


class CreateMetadefProperty(Command):
    namespace: str
    definition: PropertyDefinition


class UpdateMetadefProperty(Command):
    namespace: str
    name: str
    definition: PropertyDefinition


class DeleteMetadefProperty(Command):
    namespace: str
    name: str


async def create_metadef_property(
    command: CreateMetadefProperty, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("add_metadef_property")
        namespace.add_property(command.definition, context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )


async def update_metadef_property(
    command: UpdateMetadefProperty, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("modify_metadef_property")
        namespace.update_property(command.name, command.definition, context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )


async def delete_metadef_property(
    command: DeleteMetadefProperty, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(namespace: Namespace, access: MetadefAccess) -> None:
        access.enforce("remove_metadef_property")
        namespace.remove_property(command.name, context.clock.now())

    await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )
