"""`catalog consume NAME` runs one consumer until stopped; `catalog consumers` shows its lag."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from catalog.events import EventMetadata, ImageCreated, NewEvent
from infra import bootstrap
from tests.e2e.conftest import STOP_SECONDS
from tests.integration.conftest import embedded_settings
from tests.waiting import eventually


async def _created_image(data_dir: Path) -> uuid.UUID:
    container = await bootstrap.build(embedded_settings(data_dir))
    image_id = uuid.uuid4()
    created = NewEvent(event=ImageCreated(name="x"), occurred_at=datetime.now(UTC))
    await container.log.append(image_id, 0, [created], EventMetadata())
    await container.close()
    return image_id


def test_consume_runs_a_consumer_until_stopped(tmp_path: Path) -> None:
    image_id = asyncio.run(_created_image(tmp_path))
    env = {**os.environ, "CATALOG_DATA_DIR": str(tmp_path)}
    cli = [sys.executable, "-m", "infra.cli"]

    waiting = subprocess.run([*cli, "consumers"], env=env, capture_output=True, text=True)
    assert "consumer notifications: from the log; 1 events waiting" in waiting.stdout

    def notified() -> list[tuple[str, str]]:
        with contextlib.closing(sqlite3.connect(tmp_path / "catalog.db")) as conn:
            return conn.execute("SELECT event_type, subject_id FROM notification").fetchall()

    consumer = subprocess.Popen([*cli, "consume", "notifications"], env=env)
    try:
        rows = eventually(notified, "the consumer writes the notification")
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=STOP_SECONDS) == 0
    assert rows == [("image.create", str(image_id))]

    caught_up = subprocess.run([*cli, "consumers"], env=env, capture_output=True, text=True)
    assert "consumer notifications: from the log; 0 events waiting" in caught_up.stdout
    unknown = subprocess.run([*cli, "consume", "nobody"], env=env, capture_output=True, text=True)
    assert unknown.returncode != 0
    assert "no consumer named 'nobody'" in unknown.stderr
