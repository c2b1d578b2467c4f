"""Structured logging: key-value events, with the request's id and actor bound per request.

Everything goes to standard error in one format (`CATALOG_LOG_FORMAT`): the catalog's own
structlog events, and the lines of the libraries that log through the standard library
(alembic's migrations, aiokafka, asyncio), rendered by the same processors.
"""

from __future__ import annotations

import io
import logging
import sys

import structlog

from infra.settings import LogSettings


def configure(settings: LogSettings | None = None) -> None:
    settings = settings or LogSettings()
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            # A line may quote what a client sent, even text UTF-8 cannot encode (an unpaired
            # surrogate): it is written escaped, rather than failing the request that logs it.
            stream.reconfigure(errors="backslashreplace")
    level = logging.getLevelName(settings.level)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.format == "json"
        # In the order logged: an access line reads method, path, status, … as in other logs.
        else structlog.dev.ConsoleRenderer(colors=False, sort_keys=False)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
