"""`catalog serve` runs the notifications consumer beside the API (embedded: from the log)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import urllib.request
from pathlib import Path

from tests.serving import ANSWER_SECONDS
from tests.waiting import eventually


def test_the_embedded_server_notifies_what_it_did(embedded_server: str, tmp_path: Path) -> None:
    request = urllib.request.Request(
        f"{embedded_server}/v2/images",
        data=json.dumps({"name": "seen"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=ANSWER_SECONDS) as response:
        image_id = json.load(response)["id"]
        request_id = response.headers["x-openstack-request-id"]

    database = tmp_path / "data" / "catalog.db"

    def notified() -> list[tuple[str]]:
        with contextlib.closing(sqlite3.connect(database)) as conn:
            query = "SELECT message FROM notification WHERE subject_id = ?"
            return conn.execute(query, (image_id,)).fetchall()

    [(message,)] = eventually(notified, "the image's creation is notified")
    created = json.loads(message)
    assert created["event_type"] == "image.create"
    assert created["payload"]["name"] == "seen"
    assert created["_context"]["request_id"] == request_id
