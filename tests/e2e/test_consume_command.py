"""`catalog consume NAME` runs one consumer until stopped; `catalog consumers` shows its lag."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from catalog.events import EventMetadata, ImageCreated, NewEvent
from infra import bootstrap
from tests.integration.conftest import embedded_settings

ROUNDS = 200


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

    consumer = subprocess.Popen([*cli, "consume", "notifications"], env=env)
    try:
        for _ in range(ROUNDS):
            with sqlite3.connect(tmp_path / "catalog.db") as conn:
                rows = conn.execute("SELECT event_type, image_id FROM notification").fetchall()
            if rows:
                break
            time.sleep(0.05)
    finally:
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=30) == 0
    assert rows == [("image.create", str(image_id))]

    caught_up = subprocess.run([*cli, "consumers"], env=env, capture_output=True, text=True)
    assert "consumer notifications: from the log; 0 events waiting" in caught_up.stdout
    unknown = subprocess.run([*cli, "consume", "nobody"], env=env, capture_output=True, text=True)
    assert unknown.returncode != 0
    assert "no consumer named 'nobody'" in unknown.stderr
