"""A request that finds the database pool exhausted waits a bounded time, then answers 503."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.util import await_only

from infra.db.database import PostgresDatabase
from infra.settings import DatabaseSettings
from tests.integration.conftest import JSON, PROJECT_A, ApiBuilder, embedded_settings
from tests.waiting import until


async def test_a_request_that_finds_every_connection_in_use_answers_503(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder
) -> None:
    pool = DatabaseSettings(url=postgres_url, pool_size=1, pool_timeout_seconds=0.2)
    api, container = await api_for(replace(embedded_settings(tmp_path), database=pool))
    database = container.database
    assert isinstance(database, PostgresDatabase)
    holding: list[None] = []
    release = asyncio.Event()

    def held_open(_conn: sa.Connection) -> None:  # as a long transaction would
        holding.append(None)
        await_only(release.wait())

    # The pool's connection and its one overflow, each held by a unit of work (one of them
    # the connection the process keeps between units).
    holders = [asyncio.create_task(database.read(held_open)) for _ in range(2)]

    async def both_held() -> bool:
        return len(holding) == 2

    try:
        await until(both_held, "both connections held")
        busy = await api.get("/v2/images", headers={**PROJECT_A, **JSON})
        assert busy.status == 503, await busy.text()
        assert busy.headers["Retry-After"] == "5"
        assert (await busy.json())["message"].startswith(
            "The catalog is too busy to answer now; try again later."
        )
    finally:
        release.set()
        await asyncio.gather(*holders)

    served = await api.get("/v2/images", headers={**PROJECT_A, **JSON})
    assert served.status == 200, await served.text()
