"""Forgetting expired tasks: the rows of tasks past their `expires_at` leave the tasks view.

Readers already leave such tasks out (`catalog/queries/tasks.py`), so when the rows go is
only housekeeping: each `catalog serve` process removes them every few minutes. Their events
stay in the log; a rebuilt view holds them again until the next round removes them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from catalog.errors import DatabaseUnavailable
from catalog.projections.tasks import forget_expired
from infra.bootstrap import Container

log = structlog.get_logger(__name__)

INTERVAL_SECONDS = 300.0


async def forget_expired_tasks(container: Container) -> int:
    """Remove the rows of the tasks expired by now; how many went."""
    forgotten = await container.database.write(forget_expired, datetime.now(UTC))
    if forgotten:
        log.info("tasks_expired", count=forgotten)
    return forgotten


async def run_task_expiry(container: Container) -> None:
    """Until cancelled: forget expired tasks every few minutes."""
    while True:
        try:
            await forget_expired_tasks(container)
        except DatabaseUnavailable:
            pass  # the database logs its outage once; the next round tries again
        except Exception:
            log.exception("task_expiry_failed")  # nothing may end the loop
        await asyncio.sleep(INTERVAL_SECONDS)
