"""A rebuild while the service works: no request fails, no event is lost (PostgreSQL).

The rebuild runs on a pool of its own, as `catalog projections rebuild` beside a server does;
the API keeps writing and reading through its pool, whose connections have their statements
prepared against the tables the switch drops. Afterwards the views must be exactly what the
inline path makes of the whole log, built apart in a database of its own.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import random
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from aiohttp import ClientResponse
from sqlalchemy.util import await_only

from bench.event_history import history
from catalog.projections.registry import INLINE_PROJECTIONS
from infra import projection_rebuild
from infra.bootstrap import Container
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import upgrade
from infra.db.rebuild_tables import RebuildTables, rebuild_tables_for
from infra.projection_rebuild import rebuild_projections
from tests.conftest import fresh_postgres_database
from tests.integration.conftest import (
    JSON,
    PROJECT_A,
    ApiBuilder,
    ApiClient,
    created_image_id,
    embedded_settings,
    event_count,
)
from tests.integration.views import (
    Rows,
    project_one_by_one,
    read_whole,
    store_history,
    view_rows,
)
from tests.waiting import DEADLINE_SECONDS

pytestmark = pytest.mark.postgres

HEADERS = {**PROJECT_A, **JSON}
PATCH = {**HEADERS, "Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {**HEADERS, "Content-Type": "application/octet-stream"}


@pytest.fixture
async def served(
    tmp_path: Path, postgres_url: str, api_for: ApiBuilder
) -> tuple[ApiClient, Container]:
    """A server over a log that already holds a history, its views made inline."""
    api, container = await api_for(embedded_settings(tmp_path, postgres_url))
    rows = history(3000, seed=11)
    await store_history(container.database, rows)
    await project_one_by_one(container.log, await read_whole(container.log.read, len(rows)))
    return api, container


@pytest.fixture
async def rebuild_log(postgres_url: str) -> AsyncIterator[SqlEventLog]:
    database = open_database(postgres_url)
    yield SqlEventLog(database, INLINE_PROJECTIONS)
    await database.close()


async def inline_views_of_the_log(container: Container) -> Rows:
    """What the inline path makes of the whole log, in a database of its own."""
    events = await read_whole(container.log.read, await event_count(container))
    async with fresh_postgres_database() as url:
        database = open_database(url)
        try:
            await upgrade(database)
            await project_one_by_one(SqlEventLog(database, INLINE_PROJECTIONS), events)
            return await view_rows(database)
        finally:
            await database.close()


class Traffic:
    """Writers and readers through the API until stopped; every answer not expected is kept."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.ids: list[str] = []
        self.unexpected: list[tuple[str, int, str]] = []
        self.requests = 0
        self.answered = asyncio.Condition()
        self.stopped = asyncio.Event()

    async def expect(self, call: Awaitable[ClientResponse], label: str, *ok: int) -> None:
        response = await call
        if response.status not in ok:
            self.unexpected.append((label, response.status, await response.text()))
        async with self.answered:
            self.requests += 1
            self.answered.notify_all()

    async def more(self, count: int) -> None:
        """Wait until `count` more requests are answered."""
        target = self.requests + count
        async with asyncio.timeout(DEADLINE_SECONDS), self.answered:
            await self.answered.wait_for(lambda: self.requests >= target)

    async def writer(self, n: int) -> None:
        api = self.api
        for round_ in itertools.count():
            if self.stopped.is_set():
                return
            image_id = await created_image_id(api, name=f"w{n}-{round_}", visibility="shared")
            self.ids.append(image_id)
            path = f"/v2/images/{image_id}"
            change = [{"op": "add", "path": "/os_distro", "value": f"d{round_}"}]
            await self.expect(api.patch(path, json=change, headers=PATCH), "patch", 200)
            await self.expect(api.put(f"{path}/tags/t{n}", headers=HEADERS), "tag", 204)
            await self.expect(
                api.post(f"{path}/members", json={"member": "proj-b"}, headers=HEADERS),
                "member",
                200,
            )
            data = io.BytesIO(b"bytes of %d" % round_)
            await self.expect(api.put(f"{path}/file", data=data, headers=OCTETS), "upload", 204)
            if round_ % 3 == 2:
                await self.expect(api.delete(path, headers=HEADERS), "delete", 204)

    async def reader(self) -> None:
        api = self.api
        while not self.stopped.is_set():
            await self.expect(api.get("/v2/images?limit=20", headers=HEADERS), "list", 200)
            if self.ids:
                path = f"/v2/images/{random.choice(self.ids)}"
                await self.expect(api.get(path, headers=HEADERS), "show", 200, 404)
                await self.expect(api.get(f"{path}/members", headers=HEADERS), "members", 200, 404)


async def test_requests_during_a_rebuild_all_succeed_and_no_event_is_lost(
    served: tuple[ApiClient, Container], rebuild_log: SqlEventLog
) -> None:
    api, container = served
    traffic = Traffic(api)
    clients = [asyncio.create_task(traffic.writer(n)) for n in range(4)]
    clients += [asyncio.create_task(traffic.reader()) for _ in range(2)]
    try:
        await traffic.more(40)  # by now the server's pool has its statements prepared
        result = await rebuild_projections(rebuild_log, batch_size=200)
        await traffic.more(40)  # the same connections, after the switch
    finally:
        traffic.stopped.set()
        await asyncio.gather(*clients)

    assert traffic.unexpected == []
    assert result.events >= 3000
    assert await view_rows(container.database) == await inline_views_of_the_log(container)


class HeldAtTheSwitch:
    """Copies whose switch, once it holds appends and the views, waits until `during` has
    requests waiting on it, then lets them go by committing."""

    def __init__(self, tables: RebuildTables, during: Any) -> None:
        self.tables, self.during = tables, during

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tables, name)

    def put_in_place(self, conn: sa.Connection) -> None:
        await_only(self.during())
        self.tables.put_in_place(conn)


async def waiting_on_locks(url: str, count: int) -> None:
    watcher = await asyncpg.connect(url)
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while True:
                if await watcher.fetchval(query) >= count:
                    return
                await asyncio.sleep(0.02)
    finally:
        await watcher.close()


async def test_an_append_and_a_read_held_at_the_switch_go_to_the_new_tables(
    served: tuple[ApiClient, Container],
    rebuild_log: SqlEventLog,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, container = served
    known = await created_image_id(api, name="known")
    await api.get(f"/v2/images/{known}", headers=HEADERS)  # prepared before the switch
    held: list[asyncio.Task[ClientResponse]] = []

    async def during() -> None:
        body = {"name": "held", "disk_format": "raw", "container_format": "bare"}
        held.append(asyncio.create_task(api.post("/v2/images", json=body, headers=HEADERS)))
        held.append(asyncio.create_task(api.get(f"/v2/images/{known}", headers=HEADERS)))
        await waiting_on_locks(postgres_url, 2)  # the append on the log, the read on the view

    def copies(postgres: bool, tables: Any) -> Any:
        return HeldAtTheSwitch(rebuild_tables_for(postgres, tables), during)

    monkeypatch.setattr(projection_rebuild, "rebuild_tables_for", copies)
    await rebuild_projections(rebuild_log)

    created, shown = [await task for task in held]
    assert created.status == 201, await created.text()
    assert shown.status == 200, await shown.text()
    assert (await shown.json())["name"] == "known"
    new_id = (await created.json())["id"]
    show = await api.get(f"/v2/images/{new_id}", headers=HEADERS)
    assert show.status == 200
    assert await view_rows(container.database) == await inline_views_of_the_log(container)


class Phases:
    def __init__(self) -> None:
        self.busy = asyncio.Event()

    def phase(self, name: str) -> None:
        if "busy" in name:
            self.busy.set()

    def advance(self, replayed: int, total: int) -> None:
        pass


async def test_the_switch_gives_way_while_the_views_are_busy(
    served: tuple[ApiClient, Container], rebuild_log: SqlEventLog, postgres_url: str
) -> None:
    """A transaction holding a view (a long report, or a request waiting behind the held
    appends) makes the switch's lock time out: it lets appends go, catches up and tries
    again, without ending anyone else's transaction."""
    api, container = served
    reporter = await asyncpg.connect(postgres_url)
    phases = Phases()
    try:
        report = reporter.transaction()
        await report.start()
        await reporter.fetchval("SELECT count(*) FROM image")
        rebuilding = asyncio.create_task(rebuild_projections(rebuild_log, phases))
        async with asyncio.timeout(60):
            await phases.busy.wait()
        image_id = await created_image_id(api, name="while it waits")  # appends go on
        await report.commit()
        await rebuilding
    finally:
        await reporter.close()

    show = await api.get(f"/v2/images/{image_id}", headers=HEADERS)
    assert show.status == 200
    assert await view_rows(container.database) == await inline_views_of_the_log(container)
