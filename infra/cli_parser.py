"""The `catalog` command line: its commands, what each does, and the settings each reads
(listed in its `--help` from the settings classes, infra/settings_help.py)."""

from __future__ import annotations

import argparse
from importlib import metadata
from typing import TypeAlias

from infra.settings import host_and_port
from infra.settings_help import Reads, settings_help

DATA = Reads("core", ("data_dir",))
DATABASE = (DATA, Reads("database"), Reads("log"))
WORK = (
    Reads("core"),
    Reads("database"),
    Reads("stores"),
    Reads("quotas"),
    Reads("deletion"),
    Reads("kafka"),
    Reads("consumers"),
    Reads("notifications"),
    Reads("log"),
)
"""What the catalog's work reads, wherever it runs: its commands, its consumers."""
SERVING = (
    Reads("api"),
    Reads("metrics"),
    Reads("keystone"),
    Reads("policy"),
    Reads("healthcheck"),
    Reads("image_cache"),
    *WORK,
)

PROGRAM = """\
An image catalog that speaks the OpenStack Image API v2, with the history of every image in
an append-only log. Configured by CATALOG_* environment variables; nothing set gives the
embedded catalog (SQLite and files under ./catalog-data). `catalog COMMAND --help` says what a
command does and lists the settings it reads, with their defaults."""


def _version() -> str:
    try:
        return metadata.version("image-catalog")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _bind(text: str) -> str:
    try:
        host_and_port(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number, at least 1")
    return int(text)


def _command(
    commands: Commands,
    name: str,
    summary: str,
    description: str,
    reads: tuple[Reads, ...] = (),
    *,
    stores: bool = False,
) -> argparse.ArgumentParser:
    """A command (or an action of one) that reads `reads`, which its `--help` lists."""
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=settings_help(reads, stores=stores) if reads else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _actions(commands: Commands, name: str, summary: str) -> Commands:
    """A command whose actions are commands of their own (`catalog db upgrade`)."""
    group = _command(commands, name, summary, summary[:1].upper() + summary[1:] + ".")
    return group.add_subparsers(dest="action", required=True, metavar="ACTION")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="catalog", description=PROGRAM, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--version", action="version", version=f"catalog {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = _command(
        sub,
        "serve",
        "serve the Image API v2",
        "Serve the Image API v2 until SIGTERM or SIGINT. The address is bound first, then the\n"
        "database schema brought up to date. Beside the API each process keeps its heartbeat,\n"
        "recovers the uploads of dead processes, relays the log to Kafka (when configured) and\n"
        "runs the consumers in CATALOG_CONSUMER_IN_PROCESS. /healthcheck answers load balancers.",
        SERVING,
        stores=True,
    )
    s.add_argument("--bind", type=_bind, help="HOST:PORT to listen on (default 127.0.0.1:9292)")
    s.add_argument(
        "--workers",
        type=_count,
        help="server processes sharing the socket (PostgreSQL only; default 1); a worker that "
        "dies is started again, unless workers keep dying as they start",
    )
    _command(
        _actions(sub, "db", "the database's schema"),
        "upgrade",
        "apply the migrations",
        "Bring the database schema up to date (creating the embedded database if it is\n"
        "missing), as `catalog serve` does when it starts.",
        DATABASE,
    )
    _command(
        _actions(sub, "projections", "the read views derived from the log"),
        "rebuild",
        "replay the log into new views, then switch to them",
        "Replay the whole log into new view tables while the service goes on, then switch to\n"
        "them in one short transaction.",
        DATABASE,
    )
    _command(
        sub,
        "relay",
        "publish the log to Kafka",
        "Publish the log to Kafka until stopped; one relay per database publishes, others\n"
        "stand by.",
        (*DATABASE, Reads("kafka")),
    )
    consume = _command(
        sub,
        "consume",
        "run one consumer of the log (e.g. notifications)",
        "Run one consumer of the log until stopped: from its Kafka consumer group where Kafka\n"
        "is configured, else from the log itself.",
        WORK,
        stores=True,
    )
    consume.add_argument("name", help="the consumer to run: notifications or scrubber")
    _command(
        sub,
        "consumers",
        "each consumer's place and lag",
        "Print each consumer's source and how many events wait for it, and the relays'\n"
        "backlogs. Only reads: the database must exist.",
        (*DATABASE, Reads("kafka")),
    )
    restore = _command(
        _actions(sub, "images", "operators' actions on images"),
        "restore",
        "undo the delayed delete of an image whose scrub has not started",
        "Undo the delayed delete of an image whose scrub has not started; print the status\n"
        "it is back in, or exit 1 saying why not. The database must exist.",
        (*DATABASE, Reads("stores")),
        stores=True,
    )
    restore.add_argument("image_id", help="the id of the image pending deletion")
    h = _command(
        sub,
        "history",
        "an image's or a task's history from the log, one line per event",
        "Print an image's history from the log, one line per event: time, version, event\n"
        "type, actor, request id, what changed; deleted images too. Given a task's id, the\n"
        "task's history (also of an expired task). Only reads: the database must exist.",
        DATABASE,
    )
    h.add_argument("image_id", help="the image's id (also of a deleted image), or a task's")
    h.add_argument("--downloads", action="store_true", help="also who downloaded its data")
    load = _command(
        _actions(sub, "metadefs", "metadata definitions"),
        "load",
        "load metadata definitions files in Glance's JSON format",
        "Make each namespace defined in PATH (a .json file, or a directory of them such as\n"
        "/etc/glance/metadefs) what its file says: created if missing, else changed to match\n"
        "(protected or not); loading the same files again changes nothing. Every file is\n"
        "checked before any is loaded. The database must exist.",
        DATABASE,
    )
    load.add_argument("path", help="a definitions file, or a directory of them")
    glance = _command(
        sub,
        "import-glance",
        "bring the images of a Glance database into the catalog",
        "Bring every image of a Glance database (2023.1 or later) into the catalog, with its\n"
        "id, times, properties, tags, members and locations: each image's history begins\n"
        "with an image.migrated event holding Glance's state. The data stays where it is:\n"
        "each location is given to the configured store holding it (a file store's folder,\n"
        "an S3 store's bucket, an http store); locations whose bytes are not found are\n"
        "reported. Running it again records only what changed in Glance since, so it can be\n"
        "run, traffic switched, and run once more. Prints a summary; exits 1 if an image\n"
        "failed. The catalog's database must exist.",
        (*DATABASE, Reads("stores"), Reads("deletion")),
        stores=True,
    )
    glance.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the Glance database, as an SQLAlchemy URL: sqlite:////var/lib/glance/glance.sqlite,"
        " mysql+pymysql://glance:SECRET@db/glance, postgresql://glance:SECRET@db/glance",
    )
    glance.add_argument(
        "--include-deleted",
        action="store_true",
        help="also bring the images Glance has deleted (their ids, history and last state;"
        " shown by the history and audit only)",
    )
    glance.add_argument(
        "--copy-to",
        metavar="STORE",
        help="also copy the data of active images into this configured store",
    )
    return p
