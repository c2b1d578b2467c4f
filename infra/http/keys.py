"""Typed application keys: the resources the views use, set once by the app factory."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.commands.registry import CommandBus
from catalog.ports import DataStores
from infra.settings import ApiSettings

API_SETTINGS = web.AppKey("api_settings", ApiSettings)
BUS = web.AppKey("bus", CommandBus)
READ_ENGINE = web.AppKey("read_engine", AsyncEngine)
STORES = web.AppKey("stores", DataStores)
