"""What an operator types and reads: a mistake, a database out of reach or a busy address is
one line; commands that only read never create a database; `--help` lists each command's
settings; the log's level and format are settings, alembic's lines included."""

from __future__ import annotations

import contextlib
import json
import socket
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import asyncpg
import pytest

from infra.db.database import open_database
from infra.db.migrate import head_revision, upgrade
from tests.integration.conftest import run_catalog

SOME_IMAGE = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
COMMANDS = [
    ("serve",),
    ("db", "upgrade"),
    ("projections", "rebuild"),
    ("relay",),
    ("consume",),
    ("consumers",),
    ("images", "restore"),
    ("history",),
]


def one_line_error(finished: tuple[int, str, str]) -> str:
    """The one line a command that failed wrote, after `catalog: `, asserting it wrote no
    more (no traceback)."""
    status, _, err = finished
    assert status == 1, finished
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("catalog: "), err
    return lines[0].removeprefix("catalog: ")


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port bound by nothing that listens: connections to it are refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


async def test_a_mistake_in_the_settings_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = {"CATALOG_DATA_DIR": str(data), "CATALOG_API_AUTH_MODE": "kestone"}
    finished = await run_catalog("serve", "--bind", "127.0.0.1:0", settings=settings)
    assert one_line_error(finished) == (
        "CATALOG_API_AUTH_MODE: must be one of noauth, trusted-headers, keystone"
    )
    assert not data.exists()


async def test_a_busy_port_is_found_before_the_database_is_touched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = await run_catalog(
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            settings={"CATALOG_DATA_DIR": str(data)},
        )
    assert one_line_error(finished) == (
        f"cannot listen on 127.0.0.1:{port} (--bind, CATALOG_API_BIND): Address already in use"
    )
    assert not data.exists()  # nothing created, nothing migrated


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_a_database_out_of_reach_is_one_line(tmp_path: Path, workers: str) -> None:
    with refusing_port() as port:
        url = f"postgresql://catalog:s3cret@127.0.0.1:{port}/catalog"
        finished = await run_catalog(
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            workers,
            settings={"CATALOG_DATABASE_URL": url},
        )
    # With workers the server checks before it starts any: nothing else is logged.
    assert one_line_error(finished).startswith(
        f"cannot reach the database postgresql://catalog:***@127.0.0.1:{port}/catalog:"
        " ConnectionRefusedError: "
    )


@pytest.mark.parametrize("command", [("history", SOME_IMAGE), ("consumers",)])
async def test_commands_that_only_read_never_create_a_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    data = tmp_path / "data"
    finished = await run_catalog(*command, settings={"CATALOG_DATA_DIR": str(data)})
    assert one_line_error(finished) == (
        f"no catalog database at {data / 'catalog.db'} (CATALOG_DATA_DIR, CATALOG_DATABASE_URL);"
        " `catalog db upgrade` creates one"
    )
    assert not data.exists()


async def test_commands_that_only_read_never_migrate(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'catalog.db'}")
    await upgrade(database, "0008")
    await database.close()
    finished = await run_catalog("consumers", settings={"CATALOG_DATA_DIR": str(tmp_path)})
    assert one_line_error(finished) == (
        f"the database sqlite:///{tmp_path / 'catalog.db'} has schema revision 0008, this"
        f" catalog needs {head_revision()}; `catalog db upgrade` brings an older schema up to date"
    )


@pytest.mark.postgres
async def test_commands_that_only_read_leave_a_postgresql_database_alone(
    tmp_path: Path, postgres_url: str
) -> None:
    empty = await run_catalog(
        "history",
        SOME_IMAGE,
        settings={"CATALOG_DATABASE_URL": postgres_url},
    )
    shown = postgres_url.replace(":catalog@", ":***@")
    assert one_line_error(empty) == (
        f"the database {shown} holds no catalog; `catalog db upgrade` creates its schema"
    )
    connection = await asyncpg.connect(postgres_url)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    assert tables == 0

    absent = f"{postgres_url.rpartition('/')[0]}/catalog_absent_{uuid.uuid4().hex[:8]}"
    missing = await run_catalog("consumers", settings={"CATALOG_DATABASE_URL": absent})
    name = absent.rpartition("/")[2]
    assert one_line_error(missing) == (
        f"cannot reach the database {absent.replace(':catalog@', ':***@')}:"
        f' InvalidCatalogNameError: database "{name}" does not exist'
    )


async def test_the_version(tmp_path: Path) -> None:
    _, out, _ = await run_catalog("--version", settings={})
    assert out == f"catalog {metadata.version('image-catalog')}\n"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
async def test_help_says_what_a_command_does_and_the_settings_it_reads(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    status, out, err = await run_catalog(*command, "--help", settings={})
    assert status == 0, err
    usage, description, *_ = out.split("\n\n")
    assert usage.startswith(f"usage: catalog {' '.join(command)} ")
    assert len(description) > 40
    settings = out.split("settings (environment variables):\n")[1]
    assert "  CATALOG_DATABASE_URL (default: unset)\n" in settings
    assert "  CATALOG_LOG_LEVEL (default: INFO)\n      The least severe lines written" in settings


async def test_help_of_serve_lists_every_setting_and_each_stores_options(tmp_path: Path) -> None:
    _, text, _ = await run_catalog("serve", "--help", settings={})
    for expected in (
        "  CATALOG_API_BIND (default: 127.0.0.1:9292)\n",
        "  CATALOG_HEALTHCHECK_DISABLE_FILE (default: unset)\n",
        "  CATALOG_API_TRUSTED_PROXIES (default: empty)\n",
        "  CATALOG_POLICY_FILE (default: unset)\n",
        "  CATALOG_QUOTA_IMAGE_SIZE_TOTAL (default: -1)\n",
        "  CATALOG_STORE_<NAME>_WEIGHT (default: 0) every driver\n",
        "  CATALOG_STORE_<NAME>_BUCKET (default: images) s3\n",
    ):
        assert expected in text


async def test_json_logs_carry_alembics_lines_too(tmp_path: Path) -> None:
    settings = {"CATALOG_DATA_DIR": str(tmp_path), "CATALOG_LOG_FORMAT": "json"}
    status, out, err = await run_catalog("db", "upgrade", settings=settings)
    assert status == 0, err
    assert out == "database schema is up to date\n"
    lines = [json.loads(line) for line in err.splitlines()]
    assert lines
    assert all({"event", "level", "timestamp"} <= line.keys() for line in lines)
    migrations = [line for line in lines if line.get("logger") == "alembic.runtime.migration"]
    assert any(line["event"].startswith("Running upgrade  -> 0001") for line in migrations)


async def test_the_log_level_quiets_what_is_below_it(tmp_path: Path) -> None:
    settings = {"CATALOG_DATA_DIR": str(tmp_path), "CATALOG_LOG_LEVEL": "warning"}
    status, _, err = await run_catalog("db", "upgrade", settings=settings)
    assert (status, err) == (0, "")
