"""Every rule name the catalog knows, with Glance 33's default check string and scope.

Glance's own rules carry Glance's names and defaults (its secure-RBAC defaults, scope
`project`), so an operator's Glance `policy.yaml` overrides them here as it does there. Rules
of things the catalog does not serve yet (tasks, metadefs, the cache) are known too, so that a
file naming them is accepted and they are ready when those things come. The catalog's own
reads and actions have rules of their own, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = ("project",)


@dataclass(frozen=True)
class RuleDefault:
    name: str
    check: str
    description: str
    scope_types: tuple[str, ...] = PROJECT
    """Token scopes the rule may be enforced for; empty: any (rules only referred to)."""


ADMIN = "rule:context_is_admin"
SERVICE = "rule:service_api"
MEMBER_OF_OWNER = "role:member and project_id:%(project_id)s"
READER_OF_OWNER = "role:reader and project_id:%(project_id)s"
IMAGE_MEMBER = "project_id:%(member_id)s"
NOT_PRIVATE = "'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s"
ADMIN_OR_OWNER_MEMBER = f"{ADMIN} or ({MEMBER_OF_OWNER})"
ADMIN_OR_OWNER_READER = f"{ADMIN} or ({READER_OF_OWNER})"
ADMIN_OR_SEES = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER} or {NOT_PRIVATE}))"
)
ADMIN_OR_MEMBER_SEES = (
    f"{ADMIN} or (role:member and (project_id:%(project_id)s or {IMAGE_MEMBER} or {NOT_PRIVATE}))"
)
ADMIN_OR_READER_OF_MEMBERSHIP = (
    f"{ADMIN} or role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER})"
)
ADMIN_OR_READER_OR_PUBLIC = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"
)
METADEF_ADMIN = "rule:metadef_admin"


def _rules(check: str, description: str, *names: str) -> list[RuleDefault]:
    return [RuleDefault(name, check, description) for name in names]


BASE = [
    RuleDefault("default", "", "Referred to by the task rules (`rule:default`).", ()),
    RuleDefault("context_is_admin", "role:admin", "Who is an administrator.", ()),
    RuleDefault("service_api", "role:service or role:admin", "Who is a cloud service.", ()),
]

IMAGES = [
    RuleDefault(
        "add_image",
        f"{ADMIN} or ({MEMBER_OF_OWNER} and project_id:%(owner)s)",
        "Create an image (POST /v2/images).",
    ),
    RuleDefault("get_image", ADMIN_OR_SEES, "Show an image; an image one may not get is 404."),
    RuleDefault("get_images", ADMIN_OR_OWNER_READER, "List images (GET /v2/images)."),
    RuleDefault("modify_image", ADMIN_OR_OWNER_MEMBER, "Change an image (PATCH, tags, import)."),
    RuleDefault("delete_image", ADMIN_OR_OWNER_MEMBER, "Delete an image."),
    RuleDefault("publicize_image", ADMIN, "Make an image public."),
    RuleDefault("communitize_image", ADMIN_OR_OWNER_MEMBER, "Make an image community."),
    RuleDefault("download_image", ADMIN_OR_MEMBER_SEES, "Download an image's data."),
    RuleDefault(
        "download_from_store", ADMIN_OR_MEMBER_SEES, "Choose the store to download from (?prefer=)."
    ),
    RuleDefault("upload_image", ADMIN_OR_OWNER_MEMBER, "Upload an image's data (PUT …/file)."),
    RuleDefault("deactivate", ADMIN_OR_OWNER_MEMBER, "Deactivate an image."),
    RuleDefault("reactivate", ADMIN_OR_OWNER_MEMBER, "Reactivate an image."),
    RuleDefault("copy_image", ADMIN, "Copy an image's data into more stores (copy-image)."),
    RuleDefault(
        "get_image_location", ADMIN_OR_OWNER_READER, "Read an image's locations (store removal)."
    ),
    RuleDefault("delete_image_location", ADMIN, "Remove one store's copy of an image's data."),
    RuleDefault("set_image_location", ADMIN_OR_OWNER_MEMBER, "Change locations through PATCH."),
    RuleDefault(
        "add_image_location",
        f"{SERVICE} or ({MEMBER_OF_OWNER} and project_id:%(owner)s)",
        "Attach data to an image (POST …/locations).",
    ),
    RuleDefault("fetch_image_location", SERVICE, "List an image's locations (GET …/locations)."),
    RuleDefault("add_member", ADMIN_OR_OWNER_MEMBER, "Share an image with a project."),
    RuleDefault("delete_member", ADMIN_OR_OWNER_MEMBER, "Stop sharing an image with a project."),
    RuleDefault("get_member", ADMIN_OR_READER_OF_MEMBERSHIP, "Show one membership."),
    RuleDefault("get_members", ADMIN_OR_READER_OF_MEMBERSHIP, "List an image's members."),
    RuleDefault(
        "modify_member",
        f"{ADMIN} or (role:member and {IMAGE_MEMBER})",
        "Accept, reject or reset a membership (the member project).",
    ),
    RuleDefault("manage_image_cache", ADMIN, "The image cache (older name of the cache rules)."),
    RuleDefault("list_cached_nodes", ADMIN, "Which nodes cache an image."),
]

TASKS = [
    *_rules("rule:default", "Tasks (behind tasks_api_access).", "get_task", "get_tasks"),
    *_rules("rule:default", "Tasks (behind tasks_api_access).", "add_task", "modify_task"),
    RuleDefault("tasks_api_access", ADMIN, "The tasks API."),
]

METADEFS = [
    RuleDefault("metadef_default", "", "Referred to by older metadef rules.", ()),
    RuleDefault("metadef_admin", ADMIN, "Who administers metadata definitions.", ()),
    RuleDefault("get_metadef_namespace", ADMIN_OR_READER_OR_PUBLIC, "Show a namespace."),
    RuleDefault("get_metadef_namespaces", ADMIN_OR_OWNER_READER, "List namespaces."),
    *_rules(
        ADMIN_OR_READER_OR_PUBLIC,
        "Read metadata definitions.",
        "get_metadef_object",
        "get_metadef_objects",
        "list_metadef_resource_types",
        "get_metadef_resource_type",
        "get_metadef_property",
        "get_metadef_properties",
        "get_metadef_tag",
        "get_metadef_tags",
    ),
    *_rules(
        METADEF_ADMIN,
        "Change metadata definitions.",
        "modify_metadef_namespace",
        "add_metadef_namespace",
        "delete_metadef_namespace",
        "modify_metadef_object",
        "add_metadef_object",
        "delete_metadef_object",
        "add_metadef_resource_type_association",
        "remove_metadef_resource_type_association",
        "modify_metadef_property",
        "add_metadef_property",
        "remove_metadef_property",
        "modify_metadef_tag",
        "add_metadef_tag",
        "add_metadef_tags",
        "delete_metadef_tag",
        "delete_metadef_tags",
    ),
]

CACHE = _rules(
    ADMIN,
    "The image cache.",
    "cache_image",
    "cache_list",
    "cache_delete",
    "cache_clean",
    "cache_prune",
)

DISCOVERY = [
    RuleDefault(
        "stores_info_detail",
        f"{ADMIN} or {SERVICE}",
        "The stores with their drivers and settings (GET /v2/info/stores/detail).",
    ),
]

PROJECT_OR_SYSTEM = ("project", "system")
CATALOG = [
    RuleDefault(
        "get_image_history",
        ADMIN_OR_OWNER_READER,
        "An image's history from the log, also once deleted; others find none (404).",
        PROJECT_OR_SYSTEM,
    ),
    RuleDefault(
        "get_image_downloads",
        ADMIN,
        "Who downloaded an image (GET …/history?downloads=true).",
        PROJECT_OR_SYSTEM,
    ),
    RuleDefault(
        "restore_image", ADMIN, "Undo a delayed delete (POST …/actions/restore).", PROJECT_OR_SYSTEM
    ),
]
"""The catalog's own reads and actions (not Glance's), for system-scoped operators too."""

GLANCE_RULES: tuple[RuleDefault, ...] = (
    *BASE,
    *IMAGES,
    *TASKS,
    *METADEFS,
    *CACHE,
    *DISCOVERY,
)
"""Glance 33's rules, as `glance/policies/` registers them."""

RULES: tuple[RuleDefault, ...] = (*GLANCE_RULES, *CATALOG)
"""Every rule the catalog knows."""
