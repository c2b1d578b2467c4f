"""Concurrent changes to one image through python-glanceclient, which does not retry a 409: all
take effect, as on Glance. Embedded (one process), and on PostgreSQL with two server processes,
where requests racing each other run in different processes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from glanceclient.exc import HTTPException

from tests.e2e.conftest import PROJECT_A, StartServer, glance_api

DEADLINE_SECONDS = 300
"""A bound on each burst of requests, far above what it needs on a busy machine."""


@pytest.fixture(params=["embedded", pytest.param("two-workers", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, serve: StartServer) -> str:
    """A catalog with a member quota of 10: embedded, or two processes on PostgreSQL."""
    env = {"CATALOG_IMAGE_MEMBER_QUOTA": "10"}
    if request.param == "two-workers":
        postgres_url: str = request.getfixturevalue("postgres_url")
        env |= {"CATALOG_DATABASE_URL": postgres_url, "CATALOG_API_WORKERS": "2"}
    return serve(env)


def outcomes(calls: list[Callable[[], Any]]) -> Counter[int]:
    """Run every call at once, each in its own thread with its own client (so its own
    connection, which the kernel may hand to either process): the HTTP status of each."""

    def status(call: Callable[[], Any]) -> int:
        try:
            call()
        except HTTPException as e:
            return int(e.code)
        return 200

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(status, call) for call in calls]
        return Counter(future.result(timeout=DEADLINE_SECONDS) for future in futures)


def test_concurrent_property_updates_all_apply(server: str) -> None:
    image_id = glance_api(server, PROJECT_A).images.create(name="busy", disk_format="raw").id

    def update(n: int) -> Callable[[], Any]:
        client = glance_api(server, PROJECT_A)
        return lambda: client.images.update(image_id, **{f"prop_{n}": f"value {n}"})

    assert outcomes([update(n) for n in range(50)]) == {200: 50}
    shown = glance_api(server, PROJECT_A).images.get(image_id)
    assert {f"prop_{n}": shown.get(f"prop_{n}") for n in range(50)} == {
        f"prop_{n}": f"value {n}" for n in range(50)
    }


def test_concurrent_member_adds_fill_the_quota_exactly(server: str) -> None:
    image_id = glance_api(server, PROJECT_A).images.create(name="shared", disk_format="raw").id

    def add(n: int) -> Callable[[], Any]:
        client = glance_api(server, PROJECT_A)
        return lambda: client.image_members.create(image_id, f"proj-{n}")

    assert outcomes([add(n) for n in range(30)]) == {200: 10, 413: 20}
    assert len(list(glance_api(server, PROJECT_A).image_members.list(image_id))) == 10
