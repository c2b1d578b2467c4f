"""Keeping this process's heartbeat, and recovering the work of processes that stopped.

Every `catalog serve` process has a node id, renews `node.seen_at` every third of the upload
lease, and records its id on the uploads it streams and the tasks it runs. A process whose
heartbeat is older than the lease is gone (killed, crashed, its machine lost); its images still
in `saving` are failed back to `queued` and their partial bytes removed, then its tasks still
`processing` are failed, by whichever process looks first. Recovery runs at start-up and then
periodically.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog

from catalog.commands.recover_tasks import RecoverAbandonedTasks
from catalog.commands.recover_uploads import RecoverAbandonedUploads
from catalog.errors import DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.identity import SYSTEM_ACTOR
from catalog.queries.images import ids_with_data_in_flight
from catalog.queries.tasks import unfinished_task_ids
from infra.bootstrap import Container
from infra.db.tables import node

log = structlog.get_logger(__name__)


def _beat(conn: sa.Connection, node_id: str, now: datetime) -> None:
    updated = conn.execute(sa.update(node).where(node.c.node_id == node_id).values(seen_at=now))
    if updated.rowcount == 0:
        conn.execute(sa.insert(node).values(node_id=node_id, started_at=now, seen_at=now))


def _nodes_seen_since(conn: sa.Connection, since: datetime) -> frozenset[str]:
    return frozenset(
        conn.execute(sa.select(node.c.node_id).where(node.c.seen_at >= since)).scalars()
    )


async def beat(container: Container) -> None:
    await container.database.write(_beat, container.node_id, datetime.now(UTC))


async def live_nodes(container: Container, lease: timedelta) -> frozenset[str]:
    return await container.database.read(_nodes_seen_since, datetime.now(UTC) - lease)


Candidates = Callable[[sa.Connection], list[uuid.UUID]]
Recovery = type[RecoverAbandonedUploads] | type[RecoverAbandonedTasks]


async def _recover(
    container: Container, lease: timedelta, find: Candidates, recovery: Recovery
) -> list[uuid.UUID]:
    """Dispatch `recovery` for the streams `find` sees in flight, with the processes alive."""
    candidates = await container.database.read(find)
    if not candidates:
        return []
    alive = await live_nodes(container, lease) | {container.node_id}
    metadata = EventMetadata(actor=SYSTEM_ACTOR, request_id=f"req-recovery-{uuid.uuid4()}")
    command = recovery(candidates=candidates, live_nodes=alive)
    recovered: list[uuid.UUID] = await container.bus.dispatch(command, metadata)
    return recovered


async def recover_once(container: Container, lease: timedelta) -> list[uuid.UUID]:
    """Fail every upload and copy whose process has not been seen within the lease."""
    # Bytes stream in while saving (upload), uploading (staging) or copying to another store.
    return await _recover(container, lease, ids_with_data_in_flight, RecoverAbandonedUploads)


async def recover_tasks_once(container: Container, lease: timedelta) -> list[uuid.UUID]:
    """Fail every task whose process has not been seen within the lease."""
    return await _recover(container, lease, unfinished_task_ids, RecoverAbandonedTasks)


async def run_heartbeat_and_recovery(container: Container, lease_seconds: float) -> None:
    """Until cancelled: renew the heartbeat and recover abandoned uploads, copies and tasks."""
    lease = timedelta(seconds=lease_seconds)
    interval = lease_seconds / 3
    while True:
        try:
            await beat(container)
            # Images first: a task's work on an image is settled before its task is ended.
            await recover_once(container, lease)
            await recover_tasks_once(container, lease)
        except DatabaseUnavailable:
            pass  # the database logs its outage once; the next round tries again
        except Exception:
            # Nothing may end the loop; the next round tries again.
            log.exception("recovery_round_failed")
        await asyncio.sleep(interval)
