"""A namespace's tags: POST …/tags/{tag_name} (one), POST …/tags (several, in place of the
existing ones unless `X-Openstack-Append`), PUT and DELETE …/tags/{tag_name}."""

from __future__ import annotations

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.metadef_access import change_namespace, no_namespace
from catalog.events import EventMetadata
from catalog.metadefs.namespace import Namespace
from catalog.policy import MetadefAccess


class CreateMetadefTag(Command):
    namespace: str
    name: str


class CreateMetadefTags(Command):
    namespace: str
    names: tuple[str, ...]
    append: bool = False


class UpdateMetadefTag(Command):
    namespace: str
    name: str
    new_name: str


class DeleteMetadefTag(Command):
    namespace: str
    name: str


async def create_metadef_tag(
    command: CreateMetadefTag, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("add_metadef_tag")
        namespace.add_tag(command.name, context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )


async def create_metadef_tags(
    command: CreateMetadefTags, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("add_metadef_tags")
        namespace.add_tags(command.names, append=command.append, now=context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )


async def update_metadef_tag(
    command: UpdateMetadefTag, context: CommandContext, metadata: EventMetadata
) -> Namespace:
    def decide(namespace: Namespace, access: MetadefAccess) -> Namespace:
        access.enforce("modify_metadef_tag")
        namespace.update_tag(command.name, command.new_name, context.clock.now())
        return namespace

    return await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )


async def delete_metadef_tag(
    command: DeleteMetadefTag, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(namespace: Namespace, access: MetadefAccess) -> None:
        access.enforce("delete_metadef_tag")
        namespace.remove_tag(command.name, context.clock.now())

    await change_namespace(
        context, command.namespace, metadata, decide, missing=no_namespace(command.namespace)
    )
