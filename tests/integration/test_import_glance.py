"""`catalog import-glance`: a catalog made by a real Glance 33 (tests/fixtures/glance) brought
in, every image answering through the catalog's API as it answered through Glance's, its data
byte for byte the same; running again records nothing, and a change in Glance only that."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from catalog.commands.base import Command
from catalog.commands.restore_image import RestoreImage
from catalog.errors import DatabaseUnavailable
from catalog.events import EventMetadata
from catalog.identity import SYSTEM_ACTOR
from infra.bootstrap import Container
from infra.glance_import.run import Summary, import_glance
from infra.glance_import.source import GlanceDatabase, source_url
from infra.projection_rebuild import rebuild_projections
from tests.integration.conftest import (
    ApiBuilder,
    ApiClient,
    embedded_settings,
    event_count,
    run_catalog,
)
from tests.integration.glance_source import (
    FIXTURE,
    OWNER,
    GlanceCatalog,
    edit,
    glance_answer,
    glance_catalog,
    glance_on_mariadb,
    glance_on_postgres,
    image_id,
    recorded_images,
)


@pytest.fixture
def glance(tmp_path: Path) -> GlanceCatalog:
    return glance_catalog(tmp_path)


@pytest.fixture(params=["sqlite", "mariadb", "postgres"])
async def glance_url(request: pytest.FixtureRequest, glance: GlanceCatalog) -> AsyncIterator[str]:
    """The Glance database: the SQLite file Glance wrote, or the same on MariaDB or PostgreSQL."""
    if request.param == "sqlite":
        yield glance.sqlite_url
    elif request.param == "mariadb":
        with glance_on_mariadb(glance) as url:
            yield url
    else:
        async with glance_on_postgres(glance) as url:
            yield url


@pytest.fixture
async def catalog(
    api_for: ApiBuilder, tmp_path: Path, database_url: str, glance: GlanceCatalog
) -> tuple[ApiClient, Container]:
    return await api_for(embedded_settings(tmp_path, database_url, stores=glance.stores()))


async def imported(container: Container, url: str, **options: Any) -> Summary:
    return await import_glance(container, GlanceDatabase(source_url(url)), **options)


async def answer(api: ApiClient, path: str, headers: dict[str, str] = OWNER) -> Any:
    response = await api.get(path, headers=headers)
    assert response.status == 200, f"{path}: {await response.text()}"
    return await response.json()


def in_order_of_whole_seconds(members: dict[str, Any]) -> dict[str, Any]:
    """Glance's members list as the catalog orders the members of a Glance database that keeps
    whole seconds (MySQL): by time added, then project (docs/compatibility.md)."""
    ordered = sorted(members["members"], key=lambda m: (m["created_at"], m["member_id"]))
    return {**members, "members": ordered}


async def assert_answers_as_glance(api: ApiClient, *, whole_seconds: bool = False) -> None:
    for shown_id, glance_shown in recorded_images().items():
        ours = await answer(api, f"/v2/images/{shown_id}")
        assert ours == glance_shown, shown_id
    for name, listed in glance_answer("lists.json").items():
        who = {**OWNER, "X-Project-Id": listed["project"], "X-Roles": listed["roles"]}
        ours = (await answer(api, f"/v2/images{listed['query']}", who))["images"]
        assert [i["id"] for i in ours] == [i["id"] for i in listed["images"]], name
        assert ours == listed["images"], name
    for path in (FIXTURE / "api" / "members").glob("*.json"):
        ours = await answer(api, f"/v2/images/{path.stem}/members")
        glance_members = glance_answer(f"members/{path.name}")
        if whole_seconds:
            glance_members = in_order_of_whole_seconds(glance_members)
        assert ours == glance_members, path.stem


async def test_every_image_answers_as_in_glance_and_its_data_is_the_same(
    catalog: tuple[ApiClient, Container], glance: GlanceCatalog, glance_url: str
) -> None:
    api, container = catalog
    summary = await imported(container, glance_url)
    assert summary.failed == 0, summary.lines()
    assert (summary.counts["imported"], summary.counts["skipped"]) == (13, 2), summary.lines()
    await assert_answers_as_glance(api, whole_seconds=glance_url.startswith("mysql"))
    for shown_id, shown in recorded_images().items():
        if shown["status"] != "active" or shown_id == image_id(12):
            continue
        response = await api.get(f"/v2/images/{shown_id}/file", headers=OWNER)
        assert response.status == 200, shown_id
        stored = (glance.data / "fast" / shown_id).read_bytes()
        assert await response.read() == stored, shown_id


async def test_running_again_records_nothing_and_a_rebuild_shows_the_same(
    catalog: tuple[ApiClient, Container], glance: GlanceCatalog
) -> None:
    api, container = catalog
    await imported(container, glance.sqlite_url)
    events = await event_count(container)
    again = await imported(container, glance.sqlite_url)
    assert (again.counts["unchanged"], again.counts["skipped"], again.failed) == (13, 2, 0)
    assert await event_count(container) == events
    await rebuild_projections(container.log)
    await assert_answers_as_glance(api)


async def test_a_run_cut_short_is_carried_on_by_the_next(
    catalog: tuple[ApiClient, Container], glance: GlanceCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, container = catalog
    dispatch = container.bus.dispatch
    calls = 0

    async def database_gone_at_the_seventh(command: Command, metadata: EventMetadata) -> Any:
        nonlocal calls
        calls += 1
        if calls == 7:
            raise DatabaseUnavailable()
        return await dispatch(command, metadata)

    monkeypatch.setattr(container.bus, "dispatch", database_gone_at_the_seventh)
    with pytest.raises(DatabaseUnavailable):
        await imported(container, glance.sqlite_url)
    monkeypatch.undo()
    summary = await imported(container, glance.sqlite_url)
    assert (summary.counts["unchanged"], summary.counts["imported"]) == (6, 7), summary.lines()
    await assert_answers_as_glance(api)


async def history_types(api: ApiClient, shown_id: str) -> list[str]:
    history = await answer(api, f"/v2/images/{shown_id}/history")
    return [entry["type"] for entry in history["events"]]


async def test_what_changed_in_glance_since_the_last_run_is_recorded_and_nothing_else(
    catalog: tuple[ApiClient, Container], glance_url: str
) -> None:
    api, container = catalog
    await imported(container, glance_url)
    # After the switch-over, a change through the catalog that Glance did not make.
    renamed = await api.patch(
        f"/v2/images/{image_id(7)}",
        json=[{"op": "replace", "path": "/name", "value": "renamed-in-the-catalog"}],
        headers={**OWNER, "Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert renamed.status == 200, await renamed.text()
    later = "2030-01-02 03:04:05.000000"
    edit(
        glance_url,
        "update images set name = 'renamed-in-glance', updated_at = :at where id = :id",
        at=later,
        id=image_id(2),
    )
    edit(
        glance_url,
        "update image_members set status = 'accepted', updated_at = :at"
        " where image_id = :id and member = 'p-pending'",
        at=later,
        id=image_id(4),
    )
    edit(
        glance_url,
        "update images set status = 'deactivated', updated_at = :at where id = :id",
        at=later,
        id=image_id(3),
    )
    events = await event_count(container)
    summary = await imported(container, glance_url)
    assert (summary.counts["updated"], summary.counts["unchanged"]) == (3, 10), summary.lines()
    assert await event_count(container) == events + 6
    assert (await history_types(api, image_id(2)))[1:] == ["image.updated", "image.glance_synced"]
    assert (await history_types(api, image_id(3)))[1:] == [
        "image.deactivated",
        "image.glance_synced",
    ]
    shown = await answer(api, f"/v2/images/{image_id(2)}")
    assert (shown["name"], shown["updated_at"]) == ("renamed-in-glance", "2030-01-02T03:04:05Z")
    assert (await answer(api, f"/v2/images/{image_id(3)}"))["status"] == "deactivated"
    members = (await answer(api, f"/v2/images/{image_id(4)}/members"))["members"]
    assert {m["member_id"]: m["status"] for m in members}["p-pending"] == "accepted"
    kept = await answer(api, f"/v2/images/{image_id(7)}")
    assert kept["name"] == "renamed-in-the-catalog"


async def test_an_image_deleted_in_glance_after_the_first_run_is_deleted(
    catalog: tuple[ApiClient, Container], glance: GlanceCatalog
) -> None:
    api, container = catalog
    await imported(container, glance.sqlite_url)
    edit(
        glance.sqlite_url,
        "update images set status = 'deleted', deleted = 1, deleted_at = :at, updated_at = :at"
        " where id = :id",
        at="2030-01-02 03:04:05.000000",
        id=image_id(5),
    )
    summary = await imported(container, glance.sqlite_url)
    assert summary.counts["updated"] == 1, summary.lines()
    assert (await api.get(f"/v2/images/{image_id(5)}", headers=OWNER)).status == 404
    assert (await history_types(api, image_id(5)))[-2:] == [
        "image.deleted",
        "image.glance_synced",
    ]


async def test_deleted_images_come_only_when_asked_and_their_ids_stay_taken(
    catalog: tuple[ApiClient, Container], glance: GlanceCatalog
) -> None:
    api, container = catalog
    summary = await imported(container, glance.sqlite_url, include_deleted=True)
    assert (summary.counts["imported"], summary.failed) == (15, 0), summary.lines()
    for deleted in (image_id(10), image_id(11)):
        assert (await api.get(f"/v2/images/{deleted}", headers=OWNER)).status == 404
        assert await history_types(api, deleted) == ["image.migrated"]
        again = await api.post("/v2/images", json={"id": deleted}, headers=OWNER)
        assert again.status == 409


async def test_an_image_pending_deletion_can_be_restored_with_its_data(
    catalog: tuple[ApiClient, Container], glance: GlanceCatalog
) -> None:
    api, container = catalog
    await imported(container, glance.sqlite_url)
    pending = image_id(15)
    assert (await api.get(f"/v2/images/{pending}", headers=OWNER)).status == 404
    metadata = EventMetadata(actor=SYSTEM_ACTOR, request_id="req-restore")
    await container.bus.dispatch(RestoreImage(image_id=pending), metadata)
    assert (await answer(api, f"/v2/images/{pending}"))["status"] == "active"
    data = await api.get(f"/v2/images/{pending}/file", headers=OWNER)
    assert await data.read() == (glance.data / "fast" / pending).read_bytes()


async def test_missing_data_is_reported_and_what_the_catalog_cannot_hold_keeps_an_image_out(
    catalog: tuple[ApiClient, Container], glance: GlanceCatalog
) -> None:
    api, container = catalog
    edit(
        glance.sqlite_url,
        "update image_locations set value = 'file:///nowhere/image' where image_id = :id",
        id=image_id(3),
    )
    edit(glance.sqlite_url, "update images set status = 'mystery' where id = :id", id=image_id(1))
    summary = await imported(container, glance.sqlite_url)
    assert summary.failed == 2
    assert any(
        note.startswith(f"failed {image_id(1)}: Glance's status 'mystery': Input should be")
        for note in summary.notes
    ), summary.notes
    assert (
        f"failed {image_id(3)}: its location file:///nowhere/image is in no configured store"
        in (summary.notes)
    )
    missing = glance.data / "fast" / image_id(12)
    assert f"data missing {image_id(12)}: nothing at {missing.as_uri()}" in summary.notes
    assert (await api.get(f"/v2/images/{image_id(3)}", headers=OWNER)).status == 404
    assert (await answer(api, f"/v2/images/{image_id(12)}"))["status"] == "active"


async def test_copy_to_copies_the_data_of_active_images_into_another_store(
    api_for: ApiBuilder, tmp_path: Path, sqlite_url: str, glance: GlanceCatalog
) -> None:
    stores = glance.stores()
    stores = stores.model_copy(
        update={
            "stores": "fast:file,bulk:file,copies:file",
            "options": {**stores.options, "copies": {"dir": tmp_path / "copies"}},
        }
    )
    api, container = await api_for(embedded_settings(tmp_path, sqlite_url, stores=stores))
    summary = await imported(container, glance.sqlite_url, copy_to="copies")
    assert f"copied {image_id(2)}: into store copies" in summary.notes, summary.lines()
    assert (await answer(api, f"/v2/images/{image_id(2)}"))["stores"] == "fast,copies"
    assert (tmp_path / "copies" / image_id(2)).read_bytes() == (
        glance.data / "fast" / image_id(2)
    ).read_bytes()
    assert any(note.startswith(f"not copied {image_id(12)}") for note in summary.notes)


async def test_the_command_prints_a_summary_and_mistakes_in_one_line(
    tmp_path: Path, sqlite_url: str, glance: GlanceCatalog
) -> None:
    settings = {
        "CATALOG_DATA_DIR": str(tmp_path),
        "CATALOG_DATABASE_URL": sqlite_url,
        "CATALOG_STORES": "fast:file,bulk:file",
        "CATALOG_STORE_FAST_DIR": str(glance.data / "fast"),
        "CATALOG_STORE_BULK_DIR": str(glance.data / "bulk"),
    }
    assert (await run_catalog("db", "upgrade", settings=settings))[0] == 0
    status, out, err = await run_catalog(
        "import-glance", "--from", glance.sqlite_url, settings=settings
    )
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "import-glance: 15 images in Glance: 13 imported, 0 updated, 0 unchanged, 2 skipped,"
        " 0 failed"
    )
    assert "\r" not in out  # no progress bar when the output is not a terminal
    for source, said in (
        ("not a url", "import-glance: --from 'not a url' is not a database URL"),
        (f"sqlite:///{tmp_path}/none.sqlite", "import-glance: no SQLite database at"),
        ("mysql://glance:secret@127.0.0.1:1/glance", "import-glance: cannot read the Glance"),
    ):
        status, out, err = await run_catalog("import-glance", "--from", source, settings=settings)
        assert status == 1
        assert len(err.splitlines()) == 1, err
        assert err.startswith(f"catalog: {said}"), err
        assert "secret" not in err
