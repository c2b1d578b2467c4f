"""`catalog serve` runs the notifications consumer beside the API (embedded: from the log)."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from pathlib import Path

ROUNDS = 100


def test_the_embedded_server_notifies_what_it_did(embedded_server: str, tmp_path: Path) -> None:
    request = urllib.request.Request(
        f"{embedded_server}/v2/images",
        data=json.dumps({"name": "seen"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        image_id = json.load(response)["id"]
        request_id = response.headers["x-openstack-request-id"]

    database = tmp_path / "data" / "catalog.db"
    for _ in range(ROUNDS):
        with sqlite3.connect(database) as conn:
            rows = conn.execute(
                "SELECT message FROM notification WHERE image_id = ?", (image_id,)
            ).fetchall()
        if rows:
            break
        time.sleep(0.05)
    [(message,)] = rows
    created = json.loads(message)
    assert created["event_type"] == "image.create"
    assert created["payload"]["name"] == "seen"
    assert created["_context"]["request_id"] == request_id
