"""The aiohttp application factory: routes, middlewares, and the resources views use."""

from __future__ import annotations

from aiohttp import web

from infra.bootstrap import Container
from infra.db.audit_log import SqlAuditLog
from infra.health import HealthCheck
from infra.http.authentication import install_authentication
from infra.http.client_text import url_text_middleware
from infra.http.console.routes import add_console_routes
from infra.http.errors import error_middleware
from infra.http.identity import add_request_id, identity_middleware, request_id_middleware
from infra.http.keys import (
    API_SETTINGS,
    AUDIT_LOG,
    BUS,
    CACHE_WORKER,
    DATABASE,
    IMAGE_CACHE,
    POLICY,
    STORES,
)
from infra.http.live_requests import live_requests_middleware
from infra.http.openapi.document import add_description
from infra.http.origin import ORIGINS, Origins, origin_middleware
from infra.http.schemas import SERVED_SCHEMAS
from infra.http.versions import API_VERSIONS, ApiVersions
from infra.http.views import (
    actions,
    cache,
    discovery,
    healthcheck,
    image_data,
    image_download,
    image_history,
    image_import,
    images,
    locations,
    members,
    metadef_contents,
    metadef_namespaces,
    stores,
    tags,
    tasks,
)
from infra.image_cache.worker import CacheWorker, running
from infra.metrics.exposition import EXPOSITION, Exposition, add_metrics_route
from infra.metrics.serving import SERVING_METRICS, metrics_middleware

JSON_BODY_LIMIT = 1 << 20


def add_routes(app: web.Application) -> None:
    r = app.router
    # Every version the server accepts in a URL routes to the same API (minor versions only
    # advertise).
    V = app[API_VERSIONS].route_prefix  # noqa: N806 (the routes below read V + path)
    r.add_get("/", discovery.root, allow_head=False)
    r.add_get("/versions", discovery.versions, allow_head=False)
    r.add_route("*", healthcheck.PATH, healthcheck.healthcheck)
    r.add_get(V, discovery.to_v2_root, allow_head=False)
    for name in SERVED_SCHEMAS:
        r.add_get(V + f"/schemas/{name}", discovery.schema_view(name), allow_head=False)
    r.add_get(V + "/info/import", discovery.import_info, allow_head=False)
    r.add_get(V + "/info/usage", discovery.usage_info, allow_head=False)
    r.add_get(V + "/info/stores", discovery.stores_info, allow_head=False)
    r.add_get(V + "/info/stores/detail", discovery.stores_detail, allow_head=False)
    r.add_get(V + "/images", images.index, allow_head=False)
    r.add_post(V + "/images", images.create)
    r.add_get(V + "/images/{image_id}", images.show, allow_head=False)
    r.add_patch(V + "/images/{image_id}", images.update)
    r.add_delete(V + "/images/{image_id}", images.delete)
    r.add_get(V + "/images/{image_id}/history", image_history.history, allow_head=False)
    r.add_get(V + "/images/{image_id}/tasks", tasks.image_tasks, allow_head=False)
    r.add_put(V + "/images/{image_id}/file", image_data.upload)
    r.add_get(V + "/images/{image_id}/file", image_download.download, allow_head=False)
    r.add_put(V + "/images/{image_id}/stage", image_data.stage)
    r.add_post(V + "/images/{image_id}/import", image_import.import_image)
    r.add_post(V + "/images/{image_id}/locations", locations.add_location)
    r.add_get(V + "/images/{image_id}/locations", locations.get_locations, allow_head=False)
    r.add_delete(V + "/stores/{store_id}/{image_id}", stores.delete_from_store)
    r.add_put(V + "/images/{image_id}/tags/{tag_value}", tags.add_tag)
    r.add_delete(V + "/images/{image_id}/tags/{tag_value}", tags.remove_tag)
    r.add_get(V + "/images/{image_id}/members", members.index, allow_head=False)
    r.add_post(V + "/images/{image_id}/members", members.create)
    r.add_get(V + "/images/{image_id}/members/{member_id}", members.show, allow_head=False)
    r.add_put(V + "/images/{image_id}/members/{member_id}", members.update)
    r.add_delete(V + "/images/{image_id}/members/{member_id}", members.delete)
    r.add_post(V + "/images/{image_id}/actions/deactivate", actions.deactivate)
    r.add_post(V + "/images/{image_id}/actions/reactivate", actions.reactivate)
    r.add_post(V + "/images/{image_id}/actions/restore", actions.restore)
    r.add_get(V + "/tasks", tasks.index, allow_head=False)
    r.add_post(V + "/tasks", tasks.create)
    r.add_get(V + "/tasks/{task_id}", tasks.show, allow_head=False)
    r.add_delete(V + "/tasks/{task_id}", tasks.delete)
    r.add_get(V + "/cache", cache.get_cache_state, allow_head=False)
    r.add_delete(V + "/cache", cache.clear_cache)
    r.add_post(V + "/cache/clean", cache.clean_cache)
    r.add_post(V + "/cache/prune", cache.prune_cache)
    r.add_put(V + "/cache/{image_id}", cache.queue_image)
    r.add_delete(V + "/cache/{image_id}", cache.delete_cache_entry)
    add_metadef_routes(app, V)


def add_metadef_routes(app: web.Application, v: str) -> None:
    """The metadata definitions routes, under the version prefix `v`."""
    r = app.router
    ns = v + "/metadefs/namespaces"
    one = ns + "/{namespace}"
    r.add_get(v + "/metadefs/resource_types", metadef_namespaces.resource_types, allow_head=False)
    r.add_get(ns, metadef_namespaces.index, allow_head=False)
    r.add_post(ns, metadef_namespaces.create)
    r.add_get(one, metadef_namespaces.show, allow_head=False)
    r.add_put(one, metadef_namespaces.update)
    r.add_delete(one, metadef_namespaces.delete)
    r.add_get(one + "/objects", metadef_contents.list_objects, allow_head=False)
    r.add_post(one + "/objects", metadef_contents.create_object)
    r.add_delete(one + "/objects", metadef_namespaces.delete_objects)
    r.add_get(one + "/objects/{object_name}", metadef_contents.show_object, allow_head=False)
    r.add_put(one + "/objects/{object_name}", metadef_contents.update_object)
    r.add_delete(one + "/objects/{object_name}", metadef_contents.delete_object)
    r.add_get(one + "/properties", metadef_contents.list_properties, allow_head=False)
    r.add_post(one + "/properties", metadef_contents.create_property)
    r.add_delete(one + "/properties", metadef_namespaces.delete_properties)
    prop = one + "/properties/{property_name}"
    r.add_get(prop, metadef_contents.show_property, allow_head=False)
    r.add_put(prop, metadef_contents.update_property)
    r.add_delete(prop, metadef_contents.delete_property)
    r.add_get(one + "/tags", metadef_contents.list_tags, allow_head=False)
    r.add_post(one + "/tags", metadef_contents.create_tags)
    r.add_delete(one + "/tags", metadef_namespaces.delete_tags)
    tag = one + "/tags/{tag_name}"
    r.add_get(tag, metadef_contents.show_tag, allow_head=False)
    r.add_post(tag, metadef_contents.create_tag)
    r.add_put(tag, metadef_contents.update_tag)
    r.add_delete(tag, metadef_contents.delete_tag)
    types = one + "/resource_types"
    r.add_get(types, metadef_contents.list_associations, allow_head=False)
    r.add_post(types, metadef_contents.associate)
    r.add_delete(types + "/{resource_type}", metadef_contents.dissociate)


def create_app(container: Container) -> web.Application:
    """The API over an already built container (tests build their own around it)."""
    # Outermost first: the metrics count every answer; request ids bind for everything after
    # them, including the errors rendered by the error middleware, which sees what the origin,
    # identity and URL checks refuse; every request counts as the process's live work.
    middlewares = [
        metrics_middleware,
        live_requests_middleware,
        request_id_middleware,
        error_middleware,
        origin_middleware,
        identity_middleware,
        url_text_middleware,
    ]
    app = web.Application(middlewares=middlewares, client_max_size=JSON_BODY_LIMIT)
    settings = container.settings
    app[API_SETTINGS] = settings.api
    app[EXPOSITION] = Exposition(container.database, settings)
    app[SERVING_METRICS] = app[EXPOSITION].serving
    app[ORIGINS] = Origins(settings.api)
    app[healthcheck.HEALTH] = HealthCheck(container.database, settings.healthcheck.disable_file)
    install_authentication(app, settings)
    app[BUS] = container.bus
    app[DATABASE] = container.database
    app[POLICY] = container.policy
    app[AUDIT_LOG] = SqlAuditLog(container.log, container.bus.context.images)
    app[STORES] = container.stores
    app[API_VERSIONS] = ApiVersions.served(cache=container.image_cache is not None)
    if container.image_cache is not None:
        app[IMAGE_CACHE] = container.image_cache
        worker = CacheWorker(
            container.image_cache,
            container.database,
            container.stores,
            settings.image_cache.maintenance_seconds,
        )
        app[CACHE_WORKER] = worker
        app.cleanup_ctx.append(running(worker))
    app.on_response_prepare.append(add_request_id)
    add_routes(app)
    add_metrics_route(app, settings.metrics)
    add_console_routes(app, settings)
    add_description(app)  # last: it describes every route added before it
    return app
