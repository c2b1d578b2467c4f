"""A namespace's objects: POST …/objects, PUT and DELETE …/objects/{object_name}."""

from __future__ import annotations

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.metadef_access import change_namespace, namespace_not_found
from catalog.events import EventMetadata
from catalog.events.metadefs import ObjectDefinition
from catalog.metadefs.namespace import Namespace
from catalog.policy import MetadefAccess


class CreateMetadefObject(Command):
    namespace: str
    definition: ObjectDefinition


class UpdateMetadefObject(Command):
    namespace: str
    name: str
    definition: ObjectDefinition
    """Everything the object is now: what it leaves out, the object no longer has."""


class DeleteMetadefObject(Command):
    namespace: str
    name: str


async def create_metadef_object(
    command: CreateMetadefObject, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("add_metadef_object")
        namespace.add_object(command.definition, context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=namespace_not_found(command.namespace)
    )


async def update_metadef_object(
    command: UpdateMetadefObject, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("modify_metadef_object")
        namespace.update_object(command.name, command.definition, context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=namespace_not_found(command.namespace)
    )


async def delete_metadef_object(
    command: DeleteMetadefObject, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("delete_metadef_object")
        namespace.remove_object(command.name, context.clock.now())
        return namespace

    await change_namespace(
        context, command.namespace, metadata, decide, missing=namespace_not_found(command.namespace)
    )
