"""Keeping this process's heartbeat, and recovering the uploads of processes that stopped.

Every `catalog serve` process has a node id, renews `node.seen_at` every third of the upload
lease, and records its id on the uploads it streams. A process whose heartbeat is older than the
lease is gone (killed, crashed, its machine lost); its images still in `saving` are failed back
to `queued` and their partial bytes removed, by whichever process looks first. Recovery runs at
start-up and then periodically.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog

from catalog.commands.recover_uploads import RecoverAbandonedUploads
from catalog.errors import DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.identity import SYSTEM_ACTOR
from catalog.queries.images import ids_with_data_in_flight
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


async def recover_once(container: Container, lease: timedelta) -> list[uuid.UUID]:
    """Fail every upload whose process has not been seen within the lease."""
    # Bytes stream in while saving (upload), uploading (staging) or copying to another store.
    in_flight = await container.database.read(ids_with_data_in_flight)
    if not in_flight:
        return []
    command = RecoverAbandonedUploads(
        candidates=in_flight, live_nodes=await live_nodes(container, lease) | {container.node_id}
    )
    metadata = EventMetadata(actor=SYSTEM_ACTOR, request_id=f"req-recovery-{uuid.uuid4()}")
    recovered: list[uuid.UUID] = await container.bus.dispatch(command, metadata)
    return recovered


async def run_heartbeat_and_recovery(container: Container, lease_seconds: float) -> None:
    """Until cancelled: renew the heartbeat and recover abandoned uploads."""
    lease = timedelta(seconds=lease_seconds)
    interval = lease_seconds / 3
    while True:
        try:
            await beat(container)
            await recover_once(container, lease)
        except DatabaseUnavailable:
            pass  # the database logs its outage once; the next round tries again
        except Exception:
            # Nothing may end the loop; the next round tries again.
            log.exception("recovery_round_failed")
        await asyncio.sleep(interval)
