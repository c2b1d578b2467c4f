"""Rebuilding the views: new tables filled from the log beside the live ones, then switched in.

The rebuilt views hold the rows the inline projections wrote and answer the API the same; the
tables keep their indexes and names (migrations still find them); an interrupted rebuild
leaves the live views as they were and its leftovers go on the next run.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence, Set
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command

from bench.event_history import StoredRow, history
from catalog.events import DomainEvent, RecordedEvent, ReplayEvent
from catalog.projections.base import BatchWrite, RowInserter
from catalog.projections.registry import INLINE_PROJECTIONS
from infra import projection_rebuild
from infra.bootstrap import Container
from infra.db.checkpoints import load_checkpoint
from infra.db.database import open_database
from infra.db.event_log import SqlEventLog
from infra.db.migrate import _config, upgrade
from infra.db.rebuild_tables import RebuildTables, rebuild_tables_for
from infra.projection_rebuild import RebuildError, rebuild_projections
from tests.conftest import fresh_postgres_database
from tests.integration.conftest import (
    ADMIN,
    JSON,
    PROJECT_A,
    PROJECT_B,
    ApiClient,
    created_image_id,
    event_count,
    settled,
    uploaded_image_id,
)
from tests.integration.views import (
    LIVE_TABLES,
    Rows,
    project_one_by_one,
    read_whole,
    store_history,
    view_rows,
)
from tests.waiting import DEADLINE_SECONDS

PATCH = {**PROJECT_A, "Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {**PROJECT_A, "Content-Type": "application/octet-stream"}


async def varied_history(api: ApiClient) -> list[str]:
    """Images through every kind of change the API makes; their ids."""
    shared = await created_image_id(
        api, name="shared", visibility="shared", tags=["a", "b"], os_distro="debian"
    )
    members = f"/v2/images/{shared}/members"
    for project in ("proj-b", "proj-c", "proj-d"):
        assert (await api.post(members, json={"member": project}, headers=PROJECT_A)).status == 200
    accepted = await api.put(f"{members}/proj-b", json={"status": "accepted"}, headers=PROJECT_B)
    assert accepted.status == 200
    assert (await api.delete(f"{members}/proj-c", headers=PROJECT_A)).status == 204
    assert (await api.put(f"/v2/images/{shared}/tags/extra", headers=PROJECT_A)).status == 204
    assert (await api.delete(f"/v2/images/{shared}/tags/b", headers=PROJECT_A)).status == 204

    public = await uploaded_image_id(api, b"public bytes", ADMIN, visibility="public", tags=["x"])
    changes = [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/os_version", "value": "12"},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "replace", "path": "/tags", "value": ["y", "z"]},
        {"op": "replace", "path": "/min_ram", "value": 512},
    ]
    as_admin = {**PATCH, **ADMIN}
    assert (await api.patch(f"/v2/images/{public}", json=changes, headers=as_admin)).status == 200
    removal = [{"op": "remove", "path": "/hw_disk_bus"}]
    assert (await api.patch(f"/v2/images/{public}", json=removal, headers=as_admin)).status == 200

    deactivated = await uploaded_image_id(api, b"to deactivate")
    actions = f"/v2/images/{deactivated}/actions"
    assert (await api.post(f"{actions}/deactivate", headers=PROJECT_A)).status == 204
    reactivated = await uploaded_image_id(api, b"to reactivate", name="back")
    actions = f"/v2/images/{reactivated}/actions"
    assert (await api.post(f"{actions}/deactivate", headers=PROJECT_A)).status == 204
    assert (await api.post(f"{actions}/reactivate", headers=PROJECT_A)).status == 204

    staged = await created_image_id(api, name="staged only")
    put = await api.put(f"/v2/images/{staged}/stage", data=io.BytesIO(b"st"), headers=OCTETS)
    assert put.status == 204
    imported = await created_image_id(api, name="imported")
    put = await api.put(f"/v2/images/{imported}/stage", data=io.BytesIO(b"im"), headers=OCTETS)
    assert put.status == 204
    body = {"method": {"name": "glance-direct"}}
    assert (
        await api.post(f"/v2/images/{imported}/import", json=body, headers=PROJECT_A)
    ).status == 202
    await settled(api)

    deleted = await uploaded_image_id(api, b"to delete", tags=["gone"])
    assert (await api.delete(f"/v2/images/{deleted}", headers=PROJECT_A)).status == 204
    other = await created_image_id(api, PROJECT_B, name="of b", visibility="private")
    return [shared, public, deactivated, reactivated, staged, imported, deleted, other]


async def api_answers(api: ApiClient, ids: list[str]) -> dict[str, Any]:
    """What readers get: lists as three callers see them, each image shown, its members."""
    answers: dict[str, Any] = {}
    for who, headers in (("a", PROJECT_A), ("b", PROJECT_B), ("admin", ADMIN)):
        for query in ("", "?sort=name:asc", "?tag=extra", "?visibility=shared&member_status=all"):
            response = await api.get(f"/v2/images{query}", headers={**headers, **JSON})
            answers[f"{who} list{query}"] = (response.status, await response.json())
    for query in ("", "?sort_key=status&sort_dir=asc"):
        response = await api.get(f"/v2/tasks{query}", headers={**ADMIN, **JSON})
        answers[f"tasks{query}"] = (response.status, await response.json())
    for image_id in ids:
        paths = (
            f"/v2/images/{image_id}",
            f"/v2/images/{image_id}/members",
            f"/v2/images/{image_id}/tasks",
        )
        for path in paths:
            response = await api.get(path, headers={**ADMIN, **JSON})
            answers[path] = (response.status, await response.json())
    return answers


@pytest.fixture
async def other_log(database_url: str) -> AsyncIterator[SqlEventLog]:
    """The same database through a pool of its own, as a `catalog projections rebuild`
    process next to the server would have."""
    database = open_database(database_url)
    yield SqlEventLog(database, INLINE_PROJECTIONS)
    await database.close()


async def test_rebuilt_views_hold_the_live_rows_and_answer_the_same(
    api: ApiClient, container: Container, other_log: SqlEventLog
) -> None:
    ids = await varied_history(api)
    live, answers = await view_rows(container.database), await api_answers(api, ids)
    assert len(live["image"]) == 7
    assert live["image_tag"]
    assert live["image_member"]
    assert live["task"]

    result = await rebuild_projections(other_log, batch_size=7)

    assert result.events == await event_count(container)
    assert await view_rows(container.database) == live
    assert await api_answers(api, ids) == answers  # through the server's own pool
    assert (await container.database.read(load_checkpoint, "images")).position > 0
    assert await leftovers(container) == []


async def test_images_cut_across_batches_come_out_whole(
    container: Container, other_log: SqlEventLog
) -> None:
    """A history of every kind of event, projected inline, then rebuilt in small batches
    (streams straddle them) and in one."""
    rows = history(1500, seed=3)
    await store_history(container.database, rows)
    await project_one_by_one(container.log, await read_whole(container.log.read, len(rows)))
    live = await view_rows(container.database)
    assert len(live["image"]) > 150

    await rebuild_projections(other_log, batch_size=100)
    assert await view_rows(container.database) == live
    await rebuild_projections(other_log, batch_size=len(rows))
    assert await view_rows(container.database) == live
    await rebuild_projections(other_log, batch_size=4)  # streams longer than a batch
    assert await view_rows(container.database) == live


class ReadsOfCopies:
    """Progress that notes the statements reading the new tables during the first pass (the
    log up to its horizon, stream by stream; on a busy server the horizon may fall short of
    the head, and the catch-up in log order reads rows back, as it must)."""

    FIRST_PASS = "replaying the log into new tables"

    def __init__(self) -> None:
        self.current = ""
        self.reads: list[str] = []

    def phase(self, name: str) -> None:
        self.current = name

    def advance(self, replayed: int, total: int) -> None:
        pass

    def __call__(self, *args: Any) -> None:  # before_cursor_execute
        statement = args[2]
        if self.current != self.FIRST_PASS or "__rebuild" not in statement:
            return
        if statement.lstrip().upper().startswith("SELECT"):
            self.reads.append(statement)


async def test_the_first_pass_reads_back_only_streams_longer_than_a_batch(
    container: Container, other_log: SqlEventLog
) -> None:
    """Batches end where streams end, so a batch starts streams the new tables have never
    seen, whose rows are not read back: such reads cost more as the tables fill up."""
    rows = history(1500, seed=3)
    await store_history(container.database, rows)
    await project_one_by_one(container.log, await read_whole(container.log.read, len(rows)))
    live = await view_rows(container.database)
    longest = max(Counter(row.stream_id for row in rows).values())
    whole, cut = ReadsOfCopies(), ReadsOfCopies()

    for progress, batch in ((whole, longest * 3), (cut, max(1, longest // 2))):
        sa.event.listen(sa.Engine, "before_cursor_execute", progress)
        try:
            await rebuild_projections(other_log, progress, batch_size=batch)
        finally:
            sa.event.remove(sa.Engine, "before_cursor_execute", progress)
        assert await view_rows(container.database) == live

    assert whole.reads == []
    assert cut.reads  # a stream cut by a batch is read back to go on with it


def _schema(conn: sa.Connection) -> list[tuple[str, ...]]:
    """Every table, index and constraint of the views, with its definition."""
    if conn.dialect.name == "postgresql":
        query = (
            "SELECT c.relname, c.relkind::text, coalesce(pg_get_indexdef(c.oid), '')"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')"
            " UNION ALL SELECT conname, contype::text, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
        )
    else:
        query = "SELECT name, type, coalesce(sql, '') FROM sqlite_master"
    # SQLite quotes a table's name in its CREATE TABLE once renamed: the same table.
    return sorted(
        (name, kind, re.sub(r'^CREATE TABLE "(\w+)"', r"CREATE TABLE \1", sql))
        for name, kind, sql in conn.execute(sa.text(query))
    )


def _downgrade_to_before_the_list_indexes(conn: sa.Connection) -> None:
    command.downgrade(_config(conn), "0002")


async def test_the_tables_keep_their_indexes_and_names_for_migrations(
    container: Container, other_log: SqlEventLog
) -> None:
    before = await container.database.read(_schema)
    assert any(name == "ix_image_sort_name" for name, _, _ in before)

    await rebuild_projections(other_log)
    assert await container.database.read(_schema) == before
    await rebuild_projections(other_log)  # the next rebuild finds what it expects
    assert await container.database.read(_schema) == before

    # Migrations drop and create the views' indexes by name.
    await container.database.write(_downgrade_to_before_the_list_indexes)
    await upgrade(container.database)
    assert await container.database.read(_schema) == before


async def leftovers(container: Container) -> list[str]:
    if container.database.postgres:
        query = "SELECT tablename FROM pg_tables WHERE tablename LIKE '%\\_\\_rebuild'"
    else:
        query = "SELECT name FROM sqlite_master WHERE name LIKE '%\\_\\_rebuild' ESCAPE '\\'"
    return await container.database.read(lambda c: list(c.execute(sa.text(query)).scalars()))


async def test_leftovers_of_an_interrupted_rebuild_go_on_the_next_run(
    api: ApiClient, container: Container, other_log: SqlEventLog
) -> None:
    ids = await varied_history(api)
    live = await view_rows(container.database)
    crashed = rebuild_tables_for(container.database.postgres, LIVE_TABLES)
    await container.database.write(crashed.create)  # a rebuild that died half-way
    assert await leftovers(container)

    await rebuild_projections(other_log)

    assert await leftovers(container) == []
    assert await view_rows(container.database) == live
    assert len(ids) == 8


class Stop(Exception):
    pass


class StopAfter:
    """Progress that interrupts the rebuild once it has replayed `count` events: by an error,
    or by cancelling it, as Ctrl-C cancels the command."""

    def __init__(self, count: int, *, cancel: bool = False) -> None:
        self.count, self.cancel = count, cancel

    def phase(self, name: str) -> None:
        pass

    def advance(self, replayed: int, total: int) -> None:
        if replayed < self.count:
            return
        if not self.cancel:
            raise Stop
        task = asyncio.current_task()
        assert task is not None
        task.cancel()


async def test_an_interrupted_rebuild_leaves_the_live_views_as_they_were(
    api: ApiClient, container: Container, other_log: SqlEventLog
) -> None:
    await varied_history(api)
    live = await view_rows(container.database)

    with pytest.raises(Stop):
        await rebuild_projections(other_log, StopAfter(10), batch_size=5)
    assert await view_rows(container.database) == live
    assert await leftovers(container) == []

    rebuilding = asyncio.create_task(
        rebuild_projections(other_log, StopAfter(10, cancel=True), batch_size=5)
    )
    with pytest.raises(asyncio.CancelledError):
        await rebuilding
    assert await view_rows(container.database) == live
    assert await leftovers(container) == []


class FailingBatch:
    """A view without tables whose batch path fails at its `at`-th batch: while that batch is
    prepared (beside the write of the one before), or in its write, once the views before it
    have written theirs in the batch's transaction."""

    name = "failing"
    tables: tuple[sa.Table, ...] = ()

    def __init__(self, at: int, *, in_write: bool) -> None:
        self.at, self.in_write, self.prepared = at, in_write, 0

    def apply(self, conn: sa.Connection, recorded: RecordedEvent, event: DomainEvent) -> None:
        pass

    def prepare_batch(
        self,
        events: Sequence[ReplayEvent],
        tables: Mapping[str, sa.Table] | None = None,
        *,
        new_streams: Set[uuid.UUID] = frozenset(),
    ) -> BatchWrite:
        self.prepared += 1
        failing = self.prepared == self.at
        if failing and not self.in_write:
            raise Stop

        def write(conn: sa.Connection, insert: RowInserter) -> None:
            if failing:
                raise Stop

        return write


@pytest.mark.parametrize("in_write", [False, True], ids=["preparing", "writing"])
async def test_a_batch_failing_midway_leaves_the_live_views_as_they_were(
    api: ApiClient, container: Container, other_log: SqlEventLog, in_write: bool
) -> None:
    await varied_history(api)
    live = await view_rows(container.database)
    failing = FailingBatch(3, in_write=in_write)
    log = SqlEventLog(other_log.database, [*INLINE_PROJECTIONS, failing])

    with pytest.raises(Stop):
        await rebuild_projections(log, batch_size=5)
    assert failing.prepared >= 3
    assert await view_rows(container.database) == live
    assert await leftovers(container) == []

    await rebuild_projections(other_log, batch_size=5)
    assert await view_rows(container.database) == live


class MigratedMeanwhile:
    """Copies whose live tables get an index, as a migration run meanwhile would add one."""

    def __init__(self, tables: RebuildTables) -> None:
        self.tables = tables

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tables, name)

    def check_unchanged(self, conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE INDEX ix_image_added ON image (min_ram)"))
        self.tables.check_unchanged(conn)


async def test_a_view_changed_meanwhile_stops_the_switch(
    api: ApiClient,
    container: Container,
    other_log: SqlEventLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await varied_history(api)
    live, schema = await view_rows(container.database), await container.database.read(_schema)

    def copies(postgres: bool, tables: Any) -> Any:
        return MigratedMeanwhile(rebuild_tables_for(postgres, tables))

    monkeypatch.setattr(projection_rebuild, "rebuild_tables_for", copies)
    with pytest.raises(RebuildError, match="changed while it was rebuilt"):
        await rebuild_projections(other_log)
    assert await view_rows(container.database) == live
    assert await container.database.read(_schema) == schema
    assert await leftovers(container) == []


async def test_the_rebuild_command(api: ApiClient, container: Container, database_url: str) -> None:
    ids = await varied_history(api)
    live, answers = await view_rows(container.database), await api_answers(api, ids)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.cli",
        "projections",
        "rebuild",
        env={**os.environ, "CATALOG_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, progress = await process.communicate()
    assert process.returncode == 0, progress.decode()
    # Not a terminal: each phase on a line of its own, then one summary line.
    for phase in ("replaying the log into new tables", "indexing the new tables", "switching"):
        assert f"rebuild: {phase}\n" in progress.decode()
    assert re.fullmatch(
        r"rebuilt the views from \d+ events in [\d.]+ s \([\d,]+ events/s\);"
        r" appends held \d+ ms at the switch\n",
        output.decode(),
    ), output
    assert await view_rows(container.database) == live
    assert await api_answers(api, ids) == answers


@pytest.mark.postgres
async def test_a_transaction_in_flight_elsewhere_does_not_cut_the_rebuild(
    postgres_url: str,
) -> None:
    """The log's reader stops short of any running transaction on the server, even one in
    another database: events behind it are still replayed, at the latest by the switch, which
    holds appends and so needs no horizon."""
    database = open_database(postgres_url)
    await upgrade(database)
    log = SqlEventLog(database, INLINE_PROJECTIONS)
    blocker = await asyncpg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
    try:
        holding = blocker.transaction()
        await holding.start()
        await blocker.fetchval("SELECT pg_current_xact_id()")  # takes a transaction id
        rows = history(300, seed=5)
        await store_history(database, rows)  # committed after the blocker began

        result = await asyncio.wait_for(rebuild_projections(log), timeout=DEADLINE_SECONDS)

        assert result.events == len(rows)
        rebuilt = await view_rows(database)
        await holding.commit()
        assert rebuilt == await inline_view(rows)
    finally:
        await blocker.close()
        await database.close()


async def inline_view(rows: Sequence[StoredRow]) -> Rows:
    """The views the inline path makes of `rows`, built in a database of their own."""
    async with fresh_postgres_database() as url:
        database = open_database(url)
        try:
            await upgrade(database)
            other = SqlEventLog(database, INLINE_PROJECTIONS)
            await store_history(database, rows)
            await project_one_by_one(other, await read_whole(other.read, len(rows)))
            return await view_rows(database)
        finally:
            await database.close()


@pytest.mark.postgres
async def test_one_rebuild_at_a_time(postgres_url: str) -> None:
    database = open_database(postgres_url)
    await upgrade(database)
    holder = await asyncpg.connect(postgres_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", projection_rebuild.REBUILD_LOCK_KEY)
        with pytest.raises(RebuildError, match="another rebuild"):
            await rebuild_projections(SqlEventLog(database, INLINE_PROJECTIONS))
    finally:
        await holder.close()
        await database.close()
