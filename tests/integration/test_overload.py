"""A request that finds the database pool exhausted waits a bounded time, then answers 503."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from infra.db.database import PostgresDatabase
from infra.settings import DatabaseSettings
from tests.integration.conftest import JSON, PROJECT_A, ApiBuilder, embedded_settings


async def test_a_request_that_finds_every_connection_in_use_answers_503(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder
) -> None:
    pool = DatabaseSettings(url=postgres_url, pool_size=1, pool_timeout_seconds=0.2)
    api, container = await api_for(replace(embedded_settings(tmp_path), database=pool))
    database = container.database
    assert isinstance(database, PostgresDatabase)
    async with contextlib.AsyncExitStack() as held:
        # The pool's connection and its one overflow, held as a long transaction would.
        for _ in range(2):
            await held.enter_async_context(database.async_engine.connect())

        busy = await api.get("/v2/images", headers={**PROJECT_A, **JSON})
        assert busy.status == 503, await busy.text()
        assert busy.headers["Retry-After"] == "5"
        assert (await busy.json())["message"].startswith(
            "The catalog is too busy to answer now; try again later."
        )

    served = await api.get("/v2/images", headers={**PROJECT_A, **JSON})
    assert served.status == 200, await served.text()
