"""Typed application keys: the resources the views use, set once by the app factory."""

from __future__ import annotations

from aiohttp import web

from catalog.commands.registry import CommandBus
from catalog.policy import Policy
from infra.data_stores import ConfiguredStores
from infra.db.audit_log import SqlAuditLog
from infra.db.database import Database
from infra.image_cache.disk import ImageCache
from infra.image_cache.worker import CacheWorker
from infra.settings import ApiSettings

API_SETTINGS = web.AppKey("api_settings", ApiSettings)
AUDIT_LOG = web.AppKey("audit_log", SqlAuditLog)
BUS = web.AppKey("bus", CommandBus)
CACHE_WORKER = web.AppKey("cache_worker", CacheWorker)
IMAGE_CACHE = web.AppKey("image_cache", ImageCache)
"""Set only when the node has an image cache."""
DATABASE = web.AppKey("database", Database)
POLICY = web.AppKey("policy", Policy)
STORES = web.AppKey("stores", ConfiguredStores)
