"""The handler registry and the small bus that dispatches a command to its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from catalog.commands.associate_resource_type import (
    AssociateResourceType,
    DissociateResourceType,
    associate_resource_type,
    dissociate_resource_type,
)
from catalog.commands.base import Command
from catalog.commands.change_activation import (
    DeactivateImage,
    ReactivateImage,
    deactivate_image,
    reactivate_image,
)
from catalog.commands.context import CommandContext
from catalog.commands.copy_image import CopyImage, copy_image
from catalog.commands.create_image import CreateImage, create_image
from catalog.commands.create_import_task import CreateImportTask, create_import_task
from catalog.commands.create_metadef_namespace import (
    CreateMetadefNamespace,
    create_metadef_namespace,
)
from catalog.commands.delete_from_store import DeleteFromStore, delete_from_store
from catalog.commands.delete_image import DeleteImage, delete_image
from catalog.commands.delete_metadef_namespace import (
    DeleteMetadefContents,
    DeleteMetadefNamespace,
    delete_metadef_contents,
    delete_metadef_namespace,
)
from catalog.commands.import_image import ImportImage, import_image
from catalog.commands.load_metadef_namespace import LoadMetadefNamespace, load_metadef_namespace
from catalog.commands.manage_members import (
    AddImageMember,
    RemoveImageMember,
    UpdateImageMember,
    add_image_member,
    remove_image_member,
    update_image_member,
)
from catalog.commands.manage_metadef_objects import (
    CreateMetadefObject,
    DeleteMetadefObject,
    UpdateMetadefObject,
    create_metadef_object,
    delete_metadef_object,
    update_metadef_object,
)
from catalog.commands.manage_metadef_properties import (
    CreateMetadefProperty,
    DeleteMetadefProperty,
    UpdateMetadefProperty,
    create_metadef_property,
    delete_metadef_property,
    update_metadef_property,
)
from catalog.commands.manage_metadef_tags import (
    CreateMetadefTag,
    CreateMetadefTags,
    DeleteMetadefTag,
    UpdateMetadefTag,
    create_metadef_tag,
    create_metadef_tags,
    delete_metadef_tag,
    update_metadef_tag,
)
from catalog.commands.record_data_sent import RecordDataSent, record_data_sent
from catalog.commands.recover_tasks import RecoverAbandonedTasks, recover_abandoned_tasks
from catalog.commands.recover_uploads import RecoverAbandonedUploads, recover_abandoned_uploads
from catalog.commands.restore_image import RestoreImage, restore_image
from catalog.commands.scrub_image import ScrubImage, scrub_image
from catalog.commands.set_image_location import SetImageLocation, set_image_location
from catalog.commands.tag_image import AddImageTag, RemoveImageTag, add_image_tag, remove_image_tag
from catalog.commands.update_image import UpdateImage, update_image
from catalog.commands.update_metadef_namespace import (
    UpdateMetadefNamespace,
    update_metadef_namespace,
)
from catalog.commands.upload_image_data import UploadImageData, upload_image_data
from catalog.commands.web_download import WebDownload, web_download
from catalog.events import EventMetadata

Handler = Callable[[Any, CommandContext, EventMetadata], Awaitable[Any]]

HANDLERS: dict[type[Command], Handler] = {
    CreateImage: create_image,
    UploadImageData: upload_image_data,
    ImportImage: import_image,
    CopyImage: copy_image,
    WebDownload: web_download,
    SetImageLocation: set_image_location,
    DeleteImage: delete_image,
    DeleteFromStore: delete_from_store,
    RestoreImage: restore_image,
    ScrubImage: scrub_image,
    RecoverAbandonedUploads: recover_abandoned_uploads,
    RecoverAbandonedTasks: recover_abandoned_tasks,
    CreateImportTask: create_import_task,
    RecordDataSent: record_data_sent,
    AddImageTag: add_image_tag,
    RemoveImageTag: remove_image_tag,
    DeactivateImage: deactivate_image,
    ReactivateImage: reactivate_image,
    UpdateImage: update_image,
    AddImageMember: add_image_member,
    UpdateImageMember: update_image_member,
    RemoveImageMember: remove_image_member,
    CreateMetadefNamespace: create_metadef_namespace,
    UpdateMetadefNamespace: update_metadef_namespace,
    DeleteMetadefNamespace: delete_metadef_namespace,
    DeleteMetadefContents: delete_metadef_contents,
    LoadMetadefNamespace: load_metadef_namespace,
    CreateMetadefObject: create_metadef_object,
    UpdateMetadefObject: update_metadef_object,
    DeleteMetadefObject: delete_metadef_object,
    CreateMetadefProperty: create_metadef_property,
    UpdateMetadefProperty: update_metadef_property,
    DeleteMetadefProperty: delete_metadef_property,
    CreateMetadefTag: create_metadef_tag,
    CreateMetadefTags: create_metadef_tags,
    UpdateMetadefTag: update_metadef_tag,
    DeleteMetadefTag: delete_metadef_tag,
    AssociateResourceType: associate_resource_type,
    DissociateResourceType: dissociate_resource_type,
}


class CommandBus:
    """Runs each command through its one handler."""

    def __init__(self, context: CommandContext) -> None:
        self.context = context

    async def dispatch(self, command: Command, metadata: EventMetadata) -> Any:
        handler = HANDLERS[type(command)]
        return await handler(command, self.context, metadata)
