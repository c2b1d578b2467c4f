"""Delete a metadata definitions namespace, or everything of one kind it holds:
DELETE /v2/metadefs/namespaces/{name}[/objects|/properties|/tags]. Nothing of a protected
namespace is deleted."""

from __future__ import annotations

from typing import Literal

from catalog.commands.base import Command
from catalog.commands.context import CommandContext
from catalog.commands.metadef_access import change_namespace, no_namespace
from catalog.events import EventMetadata
from catalog.metadefs.namespace import Namespace
from catalog.policy import MetadefAccess


class DeleteMetadefNamespace(Command):
    name: str


class DeleteMetadefContents(Command):
    name: str
    contents: Literal["objects", "properties", "tags"]


async def delete_metadef_namespace(
    command: DeleteMetadefNamespace, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(namespace: Namespace, access: MetadefAccess) -> None:
        access.enforce("delete_metadef_namespace")
        namespace.delete(context.clock.now())

    await change_namespace(
        context, command.name, metadata, decide, missing=no_namespace(command.name)
    )


async def delete_metadef_contents(
    command: DeleteMetadefContents, context: CommandContext, metadata: EventMetadata
) -> None:
    def decide(namespace: Namespace, access: MetadefAccess) -> None:
        # As in Glance: deleting contents is deleting (part of) the namespace.
        access.enforce("delete_metadef_namespace")
        now = context.clock.now()
        match command.contents:
            case "objects":
                namespace.delete_objects(now)
            case "properties":
                namespace.delete_properties(now)
            case "tags":
                access.enforce("delete_metadef_tags")
                namespace.delete_tags(now)

    await change_namespace(
        context, command.name, metadata, decide, missing=no_namespace(command.name)
    )
