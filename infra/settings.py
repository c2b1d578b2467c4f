"""Settings, one class per concern, each read from `CATALOG_*` environment variables.

Nothing set means the embedded catalog: SQLite and files under `./catalog-data`, no Kafka.
`read_settings` reads them all and checks them together: every mistake is one line of a
`SettingsError` naming its variable. Each field's docstring is what `catalog … --help` says of
it (infra/settings_help.py).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from yarl import URL

from catalog.commands.context import COPIED_PROPERTIES
from catalog.commands.import_plugins import PLUGINS
from catalog.quotas import MiB, ProjectLimits, QuotaLimits
from infra.keystone.tokens import KeystoneCredentials
from infra.notifications.transport_urls import TransportUrl, parse_transport_urls
from infra.operator_errors import SettingsError
from infra.setting_values import Networks, listed
from infra.store_options import StoreOptions, read_options
from stores.url_filter import Listed, UrlFilter


def _config(env_prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=env_prefix, use_attribute_docstrings=True)


def host_and_port(bind: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets) as its parts; `ValueError` if it is not one."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9292 or [::]:9292")
    return host.strip("[]"), int(port)


class LogSettings(BaseSettings):
    """What the catalog writes to its standard error (infra/logging.py)."""

    model_config = _config("CATALOG_LOG_")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The least severe lines written; DEBUG adds the health checks' access lines."""
    format: Literal["console", "json"] = "console"
    """console: `key=value` lines for people; json: one JSON object per line, for collectors."""

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class CoreSettings(BaseSettings):
    model_config = _config("CATALOG_")

    data_dir: Path = Path("catalog-data")
    """Where the embedded database and the filesystem store live."""
    image_size_cap: int = Field(default=1 << 40, gt=0)
    """The largest image accepted, in bytes (Glance's default: 1 TiB)."""
    image_tag_quota: int = 128
    """Tags per image; negative means unlimited (413 beyond)."""
    image_member_quota: int = 128
    """Members per image; negative means unlimited (413 beyond)."""
    image_property_quota: int = 128
    """Custom properties per image; negative means unlimited (413 beyond)."""
    upload_lease_seconds: float = Field(default=60.0, gt=0)
    """How long a process may go without a heartbeat before its unfinished uploads are failed
    (image back to queued, partial bytes removed)."""
    conflict_retry_seconds: float = Field(default=10.0, ge=0)
    """How long a change to an image that keeps meeting changes by other processes decides
    again (after short random waits) before it answers 409; 0: at the first such conflict."""
    snapshot_every: int = Field(default=100, ge=0)
    """Events a load of an image (task, namespace) folds past its latest snapshot before it
    keeps a new one; commands then read a snapshot and fewer events than this. 0: no
    snapshots, every load folds the whole stream."""
    snapshot_check: bool = False
    """Also fold the whole stream on every load from a snapshot, and fail the request if the
    two states differ: for trying a new release on a copy of the log (it costs what snapshots
    save)."""


class DatabaseSettings(BaseSettings):
    model_config = _config("CATALOG_DATABASE_")

    url: str | None = Field(default=None, repr=False)
    """`postgresql://user:password@host:port/db`; unset: SQLite at `<data_dir>/catalog.db`."""
    pool_size: int = Field(default=10, ge=1)
    """Connections each process keeps to PostgreSQL (as many again when busy)."""
    pool_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a request waits for a PostgreSQL connection when all are in use before it
    answers 503 with `Retry-After`, rather than queue without end."""

    @field_validator("url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            scheme = sa.make_url(url).drivername
        except sa.exc.ArgumentError:
            scheme = ""
        if scheme not in ("postgresql", "postgres", "postgresql+asyncpg", "sqlite"):
            raise ValueError(
                "must be postgresql://user:password@host:port/database, "
                "or sqlite:////path/to/catalog.db"
            )
        return url


class ApiSettings(BaseSettings):
    model_config = _config("CATALOG_API_")

    bind: str = "127.0.0.1:9292"
    """HOST:PORT the API listens on (`--bind` overrides)."""
    auth_mode: Literal["noauth", "trusted-headers", "keystone"] = "noauth"
    """noauth: a request without identity headers acts as the default project, with every role.
    trusted-headers: identity comes only from X-Project-Id / X-User-Id / X-Roles (behind
    keystonemiddleware or a gateway of the deployment's own). keystone: the catalog validates
    X-Auth-Token with Keystone itself (`CATALOG_KEYSTONE_*`)."""
    default_project: str = "default"
    """The project of `noauth` requests without identity headers."""
    default_user: str = "default"
    """The user of `noauth` requests without identity headers."""
    workers: int = Field(default=1, ge=1)
    """Server processes sharing the listening socket (`--workers` overrides); more than one
    needs PostgreSQL."""
    show_locations: bool = False
    """Show images' `locations` and `direct_url` to every caller. Off by default: store URLs
    reveal the backend's layout and are a way to swap an image's data (OSSN-0065)."""
    public_endpoint: str | None = None
    """The URL clients reach the API at, e.g. `https://image.example.com` (Glance's
    `public_endpoint`): the versions document and every absolute link are built on it.
    Unset: the address each request came to, as a trusted proxy forwarded it."""
    trusted_proxies: Networks = ""
    """Addresses or networks (CIDR), comma-separated, of the proxies and load balancers in
    front of the catalog: from them only, `Forwarded` and `X-Forwarded-Proto`, `-Host`, `-For`
    and `-Prefix` say where the client reached the API."""
    header_timeout_seconds: float = Field(default=30.0, gt=0)
    """How long a client may take to send a request's line and headers, from its first byte;
    beyond it the connection is closed without an answer."""
    body_idle_timeout_seconds: float = Field(default=60.0, gt=0)
    """How long a request's body may send nothing while the catalog waits for it; beyond it
    the request fails with 408 and the connection is closed (an upload or staging fails as an
    interrupted one does: image back to `queued`, bytes removed, quota claim released)."""
    keepalive_timeout_seconds: float = Field(default=75.0, gt=0)
    """How long a connection may stay open without a request (after the last answer, or
    from its start); beyond it the catalog closes it."""
    max_header_bytes: int = Field(default=65536, ge=1024)
    """The most bytes a request's line and headers may take together; beyond it the answer is
    431 and the connection is closed."""
    max_connections: int = Field(default=4096, ge=1)
    """Connections each server process keeps open at most; those beyond it are closed as they
    come. Lowered at start to what the process's open-file limit leaves room for (the server
    raises its soft limit to the hard one first, and logs both)."""

    @field_validator("bind")
    @classmethod
    def _host_and_port(cls, bind: str) -> str:
        host_and_port(bind)
        return bind

    @field_validator("public_endpoint")
    @classmethod
    def _absolute_url(cls, endpoint: str | None) -> str | None:
        if endpoint is None:
            return None
        url = URL(endpoint)
        if url.scheme not in ("http", "https") or not url.host or url.query_string or url.fragment:
            raise ValueError("must be an http(s) URL without query, e.g. https://image.example.com")
        return endpoint.rstrip("/")

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(entry, strict=False) for entry in listed(self.trusted_proxies)]


class HealthcheckSettings(BaseSettings):
    """`/healthcheck`, as load balancers probe it (infra/http/views/healthcheck.py)."""

    model_config = _config("CATALOG_HEALTHCHECK_")

    disable_file: Path | None = None
    """While this file exists, `/healthcheck` answers 503 `DISABLED BY FILE`, so load
    balancers drain the node while it goes on serving (Glance's `disable_by_file_path`)."""


class MetricsSettings(BaseSettings):
    """Prometheus metrics at `/metrics` (infra/metrics/)."""

    model_config = _config("CATALOG_METRICS_")

    bind: str | None = None
    """HOST:PORT of a listener of its own for `/metrics`, answering anyone who reaches it
    (an address of the management network, or loopback for a local agent). Set, the API's
    address no longer serves `/metrics`."""
    access: Literal["admin", "anyone"] = "admin"
    """Who may read `/metrics` on the API's address while `CATALOG_METRICS_BIND` is unset:
    admin: callers the policy deems admin (`context_is_admin`), as the API identifies them;
    anyone: every caller, without a token."""
    scrape_timeout_seconds: float = Field(default=5.0, gt=0)
    """How long a scrape waits for the figures read from the database (the log's head, lags,
    the scrubber's queue, rebuild progress); beyond it, or with the database down, the answer
    leaves them out (`catalog_state_up` 0) rather than wait."""

    @field_validator("bind")
    @classmethod
    def _host_and_port(cls, bind: str | None) -> str | None:
        if bind is not None:
            host_and_port(bind)
        return bind


class KeystoneSettings(BaseSettings):
    """The catalog's own account in Keystone, with which it validates callers' tokens
    (`CATALOG_API_AUTH_MODE=keystone`), and the cache of validated tokens."""

    model_config = _config("CATALOG_KEYSTONE_")

    auth_url: str | None = None
    """Keystone's public address, e.g. `https://keystone.example.com:5000` (`/v3` may end it);
    also what a 401 tells clients (`WWW-Authenticate`)."""
    username: str | None = None
    """The catalog's own user in Keystone (it may validate tokens)."""
    password: str | None = Field(default=None, repr=False)
    """That user's password."""
    project_name: str | None = None
    """The project that user's token is scoped to."""
    user_domain_name: str = "Default"
    """The user's domain."""
    project_domain_name: str = "Default"
    """The project's domain."""
    cache_seconds: float = Field(default=300.0, ge=0)
    """How long a validated token is trusted without asking again (never past its expiry);
    a revoked token is still honoured for at most this long, as with keystonemiddleware."""
    cache_size: int = Field(default=10_000, ge=1)
    """Validated tokens kept at most; the least recently used go first."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a question to Keystone may take before the request answers 503."""

    def credentials(self) -> KeystoneCredentials:
        given = {
            "auth_url": self.auth_url,
            "username": self.username,
            "password": self.password,
            "project_name": self.project_name,
        }
        missing = [f"CATALOG_KEYSTONE_{name.upper()}" for name, value in given.items() if not value]
        if missing:
            raise SettingsError(f"{', '.join(missing)}: needed with CATALOG_API_AUTH_MODE=keystone")
        return KeystoneCredentials(
            auth_url=str(self.auth_url),
            username=str(self.username),
            password=str(self.password),
            project_name=str(self.project_name),
            user_domain_name=self.user_domain_name,
            project_domain_name=self.project_domain_name,
        )


class PolicySettings(BaseSettings):
    """Who may do what: an oslo.policy file of Glance's rules, and property protections, both
    read once at start (see docs/operations.md, "Policy")."""

    model_config = _config("CATALOG_")

    policy_file: Path | None = None
    """A Glance `policy.yaml` (or JSON): rules that replace Glance's defaults; unset: the
    defaults."""
    property_protection_file: Path | None = None
    """Glance's property protection file (INI); unset: no property is protected."""
    property_protection_rule_format: Literal["roles", "policies"] = "roles"
    """What the property protection file names: roles, or rules of the policy."""


class StoresSettings(BaseSettings):
    """Which stores hold image data; each store's own options are in `infra/store_options.py`."""

    model_config = _config("CATALOG_")

    stores: str = "file:file"
    """`name:driver` pairs, comma-separated, e.g. `local:file,objects:s3,web:http` (drivers:
    file, s3, http). Each store's options come from `CATALOG_STORE_<NAME>_<OPTION>`."""
    default_store: str | None = None
    """Where uploads go without `X-Image-Meta-Store`; unset: the first store listed."""
    options: dict[str, dict[str, object]] = Field(default_factory=dict, exclude=True)
    """Options given in code (tests), by store name; they win over the environment."""

    def enabled(self) -> list[tuple[str, str]]:
        """The configured (name, driver) pairs, in the order given."""
        pairs: list[tuple[str, str]] = []
        for item in self.stores.split(","):
            name, sep, driver = item.strip().partition(":")
            if not sep or not name or not driver:
                raise SettingsError(
                    f"CATALOG_STORES: expected name:driver pairs, e.g. local:file,objects:s3;"
                    f" got {item.strip()!r}"
                )
            pairs.append((name.strip(), driver.strip()))
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise SettingsError(f"CATALOG_STORES: a store name appears twice in {self.stores!r}")
        return pairs

    def configured(self) -> list[tuple[str, str, StoreOptions]]:
        """Each store's (name, driver, options), its options read and checked."""
        stores: list[tuple[str, str, StoreOptions]] = []
        errors: list[SettingsError] = []
        for name, driver in self.enabled():
            try:
                stores.append((name, driver, read_options(name, driver, self.options.get(name))))
            except SettingsError as e:
                errors.append(e)
        if errors:
            raise SettingsError.joined(errors)
        return stores

    @property
    def default_name(self) -> str:
        return self.default_store or self.enabled()[0][0]


class ProjectQuota(BaseModel):
    """One project's limits in `CATALOG_QUOTA_PROJECTS`; a limit left out is the default's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_count_total: int | None = Field(default=None, ge=-1)
    image_size_total: int | None = Field(default=None, ge=-1)
    uploads_in_progress: int | None = Field(default=None, ge=-1)


class QuotaSettings(BaseSettings):
    """Per-project limits, hard (see catalog/quotas.py); -1 means unlimited."""

    model_config = _config("CATALOG_QUOTA_")

    image_count_total: int = Field(default=-1, ge=-1)
    """Images per project that are not deleted."""
    image_size_total: int = Field(default=-1, ge=-1)
    """MiB of image data per project, uploads in progress included."""
    uploads_in_progress: int = Field(default=10, ge=-1)
    """Uploads and stagings a project may have streaming in at once; one more is answered 429
    with `Retry-After` (a limit on work in progress, not a quota)."""
    upload_claim_step: int = Field(default=64, ge=1)
    """MiB an upload of unknown size claims of its project's storage quota as it starts; it
    claims more in steps (up to twice as much each time) as its bytes arrive."""
    projects: Annotated[dict[str, ProjectQuota], NoDecode] = Field(default_factory=dict)
    """Limits of particular projects, as JSON: `{"proj-a": {"image_size_total": 10240}}`;
    a limit a project does not name is the default's."""

    @field_validator("projects", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError(
                'must be a JSON object, e.g. {"proj-a": {"image_size_total": 10240}}'
            ) from None

    def limits(self) -> QuotaLimits:
        default = ProjectLimits(
            self.image_count_total, self.image_size_total, self.uploads_in_progress
        )
        return QuotaLimits(
            default=default,
            projects={
                project: ProjectLimits(**{**asdict(default), **given.model_dump(exclude_none=True)})
                for project, given in self.projects.items()
            },
            upload_claim_step=self.upload_claim_step * MiB,
        )


class DeletionSettings(BaseSettings):
    """Delayed delete (Glance's `delayed_delete`) and the scrubber that removes the data later."""

    model_config = _config("CATALOG_")

    delayed_delete: bool = False
    """Deleting an image with data makes it `pending_delete`: gone for users, its data kept
    for the scrubber and restorable by an admin until the scrub starts. Off: data goes at once."""
    scrub_time: int = Field(default=0, ge=0)
    """Seconds after the delete before the data may be scrubbed (Glance's `scrub_time`)."""
    scrub_retries: int = Field(default=3, ge=1)
    """Attempts (the first included) at removing one store's copy within one scrub; only
    transient store errors are tried again, after a short randomised wait."""
    scrub_retry_seconds: int = Field(default=300, gt=0)
    """After a scrub failed: seconds before that image's scrub is due again."""


class TaskSettings(BaseSettings):
    """Tasks (Glance's `[task]` options): every import and location import runs as one, and
    the tasks API's own imports fetch data from URLs."""

    model_config = _config("CATALOG_TASK_")

    time_to_live: float = Field(default=48.0, gt=0)
    """Hours a task is kept once it ended, then forgotten (Glance's `task_time_to_live`)."""
    import_allowed_networks: Networks = ""
    """Networks (CIDR), comma-separated, that imports (web-download, the tasks API's
    `import_from`) may fetch from although they are loopback, link-local or private; by
    default only public addresses."""

    # Which URLs imports (web-download, the tasks API's `import_from`) may fetch, by scheme,
    # host and port (Glance's `import_filtering_opts`, with its defaults).
    import_allowed_schemes: str = "http,https"
    """URL schemes imports may fetch, comma-separated; when set, the disallowed ones are not
    read."""
    import_disallowed_schemes: str = ""
    """URL schemes imports may not fetch, comma-separated (when no scheme is allowed)."""
    import_allowed_hosts: str = ""
    """Hosts (as written in URLs) imports may fetch from, comma-separated; when set, the
    disallowed ones are not read."""
    import_disallowed_hosts: str = ""
    """Hosts imports may not fetch from, comma-separated (when no host is allowed)."""
    import_allowed_ports: str = "80,443"
    """Ports imports may fetch from, comma-separated; when set, the disallowed ones are not
    read. Empty: any port not disallowed."""
    import_disallowed_ports: str = ""
    """Ports imports may not fetch from, comma-separated (when no port is allowed)."""
    import_read_timeout: float = Field(default=60.0, gt=0)
    """Seconds an import's source may send nothing (answer, or the next bytes) before the
    import fails, its bytes removed: a stalled server does not hold an image for good."""

    def import_networks(self) -> list[str]:
        return listed(self.import_allowed_networks)

    def import_filter(self) -> UrlFilter:
        def part(allowed: str, disallowed: str) -> Listed:
            return Listed.of(listed(allowed), listed(disallowed))

        return UrlFilter(
            schemes=part(self.import_allowed_schemes, self.import_disallowed_schemes),
            hosts=part(self.import_allowed_hosts, self.import_disallowed_hosts),
            ports=part(self.import_allowed_ports, self.import_disallowed_ports),
        )


class ImageCacheSettings(BaseSettings):
    """The node-local image cache (Glance's `image_cache_*`): copies of images, whichever store
    holds their data, served from this node's disk (infra/image_cache/)."""

    model_config = _config("CATALOG_IMAGE_CACHE_")

    dir: Path | None = None
    """The cache's folder on this node; unset: no cache, and the cache API answers 404."""
    max_size: int = Field(default=10 * 1024**3, ge=0)
    """Bytes the cache may hold; beyond it the least recently used images are pruned."""
    stall_time: int = Field(default=86400, gt=0)
    """Seconds after which an unfinished fill is taken for dead and removed by the cleaning."""
    maintenance_seconds: float = Field(default=300.0, gt=0)
    """How often the cache is cleaned, pruned and checked against the images (evicting those
    deleted or whose data went away)."""


class SignatureSettings(BaseSettings):
    """Where the certificates of signed images are found (`img_signature_certificate_uuid`):
    a folder, a Barbican key manager, or both (the folder is asked first). With neither, the
    data of a signed image is refused: its certificate cannot be found."""

    model_config = _config("CATALOG_SIGNATURE_")

    certificates_dir: Path | None = None
    """A folder of X.509 certificates, PEM or DER, each in a file named by its uuid (with
    `.pem`, `.der`, `.crt` or no extension)."""
    barbican_url: str | None = None
    """Barbican's address, e.g. `https://barbican.example.com:9311`; its secrets are read
    with the caller's token (`GET /v1/secrets/{uuid}/payload`)."""
    barbican_from_catalog: bool = False
    """Find Barbican in the caller's Keystone catalog (service type `key-manager`) instead of
    `CATALOG_SIGNATURE_BARBICAN_URL`; needs `CATALOG_KEYSTONE_AUTH_URL`."""
    barbican_interface: Literal["public", "internal", "admin"] = "public"
    """Which of Barbican's catalog endpoints to use."""
    barbican_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a question to Barbican may take before the upload answers 503."""


class ImportSettings(BaseSettings):
    """The plugins every import that brings an image its data (glance-direct, web-download,
    glance-download) runs before its bytes go into the stores (Glance's `[image_import_opts]
    image_import_plugins`, `[image_conversion]` and `[inject_metadata_properties]`); copy-image
    and the tasks API's imports run none."""

    model_config = _config("CATALOG_IMPORT_")

    plugins: str = ""
    """The import plugins run, in order, comma-separated: `image_conversion` (converts the
    data to `CATALOG_IMPORT_CONVERSION_OUTPUT_FORMAT` with qemu-img, which must be installed:
    Debian's qemu-utils), `inject_image_metadata` (sets `CATALOG_IMPORT_INJECT`)."""
    conversion_output_format: Literal["qcow2", "raw", "vmdk"] = "raw"
    """The disk format `image_conversion` converts imported images to."""
    conversion_work_dir: Path | None = None
    """Where `image_conversion` keeps an image's bytes while converting them (room for the
    image twice); unset: the system's temporary folder."""
    inject: str = ""
    """Properties `inject_image_metadata` sets on every imported image, `key:value` pairs
    comma-separated (e.g. `os_distro:ubuntu,owner_team:ops`); `os_glance*` keys are left out."""
    inject_ignore_user_roles: str = "admin"
    """Roles, comma-separated, whose imports get no injected properties."""
    glance_download_properties: str = ",".join(COPIED_PROPERTIES)
    """glance-download: the properties of the other region's image that the imported image
    gets, by prefix, comma-separated (Glance's `[glance_download_properties]
    extra_properties`); `os_glance*` ones never."""

    @field_validator("plugins")
    @classmethod
    def _known_plugins(cls, plugins: str) -> str:
        unknown = [name for name in listed(plugins) if name not in PLUGINS]
        if unknown:
            raise ValueError(f"unknown import plugins; known: {', '.join(PLUGINS)}")
        return plugins

    @field_validator("inject")
    @classmethod
    def _pairs(cls, inject: str) -> str:
        if any(not key.strip() for key, _, _ in map(_pair, listed(inject))):
            raise ValueError("must be key:value pairs, comma-separated")
        return inject

    def enabled(self) -> tuple[str, ...]:
        return tuple(listed(self.plugins))

    def injected(self) -> dict[str, str]:
        return {key.strip(): value.strip() for key, _, value in map(_pair, listed(self.inject))}

    def ignored_roles(self) -> frozenset[str]:
        return frozenset(listed(self.inject_ignore_user_roles))

    def copied_properties(self) -> tuple[str, ...]:
        return tuple(listed(self.glance_download_properties))


def _pair(entry: str) -> tuple[str, str, str]:
    return entry.partition(":")


class KafkaSettings(BaseSettings):
    model_config = _config("CATALOG_KAFKA_")

    bootstrap_servers: str | None = None
    """Kafka's brokers, `host:port`, comma-separated; unset: no Kafka, consumers tail the log
    in-process."""
    events_topic: str = "catalog.events"
    """The topic the relay publishes the log to."""
    relay_batch_size: int = Field(default=500, gt=0)
    """Rows a relay publishes in one batch at most: events, or notifications (every relay's,
    RabbitMQ's too)."""
    relay_idle_seconds: float = Field(default=0.02, gt=0)
    """How often an idle relay looks for rows written by other processes (writers in its own
    process wake it at once)."""


class ConsumerSettings(BaseSettings):
    """The consumers of the log (infra/consumers/): which run inside `catalog serve`."""

    model_config = _config("CATALOG_CONSUMER_")

    in_process: str = "notifications,scrubber"
    """Consumers `catalog serve` runs beside the API, comma-separated; empty: none (run them
    with `catalog consume NAME` instead)."""
    batch_size: int = Field(default=500, gt=0)
    """Events a consumer applies in one transaction at most."""
    idle_seconds: float = Field(default=0.05, gt=0)
    """How long a consumer waits for news before it looks again."""

    def names(self) -> list[str]:
        return listed(self.in_process)


class NotificationSettings(BaseSettings):
    """Glance-compatible notifications (catalog/notifications/) and where they are sent
    (infra/notifications/)."""

    model_config = _config("CATALOG_NOTIFICATIONS_")

    transport_url: str = Field(default="", repr=False)
    """oslo.messaging transport URLs, as Glance's `transport_url`, separated by spaces when
    there are several; each is sent every notification, laid out as oslo.messaging's driver
    lays them out: `rabbit://user:pass@host:5672/` (more hosts of one cluster:
    `rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost`), `kafka://host:9092/`, `noop`.
    Empty: none."""
    topics: str = "notifications"
    """Topics every notification is sent to, comma-separated (Glance's
    `[oslo_messaging_notifications] topics`): on a transport, to `<topic>.<priority>`, e.g.
    `notifications.info`, `notifications.error`."""
    exchange: str = "glance"
    """RabbitMQ's exchange for notifications (Glance's `control_exchange`)."""
    amqp_durable_queues: bool = True
    """RabbitMQ: the exchange and queues the catalog has to make are durable, so queued
    notifications survive a broker restart (oslo.messaging's `amqp_durable_queues`, false by
    default there). Ones that exist are used as they are: set it as the cloud's services do."""
    rabbit_quorum_queue: bool = False
    """RabbitMQ: the queues the catalog has to make are quorum queues (and durable), as with
    oslo.messaging's `rabbit_quorum_queue`. Set it as the cloud's services do."""
    topic: str = "catalog.notifications"
    """The catalog's own topic on its Kafka (`CATALOG_KAFKA_BOOTSTRAP_SERVERS`), with every
    notification, keyed by what it is about (an image, a task, a namespace); empty: not
    published there."""
    publisher_id: str = "image.localhost"
    """The envelope's `publisher_id` (Glance's `default_publisher_id`)."""
    disabled: str = ""
    """Event types not to send, comma-separated: a full type (`image.send`) or a group of them
    (`image.member`, `image`, `task`, `metadef_tag`), matched on whole dot-separated parts."""
    retention_hours: float = Field(default=168.0, gt=0)
    """How long notifications stay in the outbox table once every destination has them."""

    @field_validator("transport_url")
    @classmethod
    def _transport_urls(cls, text: str) -> str:
        parse_transport_urls(text)
        return text

    @field_validator("topics")
    @classmethod
    def _some_topic(cls, topics: str) -> str:
        if not listed(topics):
            raise ValueError("must name at least one topic, e.g. notifications")
        return topics

    def transport_urls(self) -> list[TransportUrl]:
        return parse_transport_urls(self.transport_url)

    def topic_names(self) -> list[str]:
        return listed(self.topics)

    def disabled_types(self) -> frozenset[str]:
        return frozenset(listed(self.disabled))


@dataclass
class Settings:
    """Every concern's settings, read once by the entrypoint and passed down."""

    log: LogSettings = field(default_factory=LogSettings)
    core: CoreSettings = field(default_factory=CoreSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    keystone: KeystoneSettings = field(default_factory=KeystoneSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    stores: StoresSettings = field(default_factory=StoresSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    quotas: QuotaSettings = field(default_factory=QuotaSettings)
    consumers: ConsumerSettings = field(default_factory=ConsumerSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    deletion: DeletionSettings = field(default_factory=DeletionSettings)
    tasks: TaskSettings = field(default_factory=TaskSettings)
    signatures: SignatureSettings = field(default_factory=SignatureSettings)
    healthcheck: HealthcheckSettings = field(default_factory=HealthcheckSettings)
    image_cache: ImageCacheSettings = field(default_factory=ImageCacheSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.core.data_dir / 'catalog.db').resolve()}"


def concerns() -> dict[str, type[BaseSettings]]:
    """Each concern's name in `Settings` and its settings class."""
    hints = get_type_hints(Settings)
    return {concern.name: hints[concern.name] for concern in fields(Settings)}


def read_settings() -> Settings:
    """Every concern's settings from the environment, checked: a `SettingsError` names every
    mistake, not only the first."""
    read: dict[str, Any] = {}
    errors: list[SettingsError] = []
    for name, model in concerns().items():
        try:
            read[name] = model()
        except ValidationError as e:
            errors.append(SettingsError.of(e, model, model.model_config.get("env_prefix", "")))
    for check in _across_concerns(read):
        try:
            check()
        except SettingsError as e:
            errors.append(e)
    if errors:
        raise SettingsError.joined(errors)
    return Settings(**read)


def _across_concerns(read: dict[str, Any]) -> list[Callable[[], object]]:
    """The checks no concern's class makes alone, for the concerns read without mistakes."""
    checks: list[Callable[[], object]] = []
    if "stores" in read:
        checks.append(read["stores"].configured)
    if "api" in read and "keystone" in read and read["api"].auth_mode == "keystone":
        checks.append(read["keystone"].credentials)
    if "signatures" in read and "keystone" in read:
        checks.append(lambda: _barbican_findable(read["signatures"], read["keystone"]))
    return checks


def _barbican_findable(signatures: SignatureSettings, keystone: KeystoneSettings) -> None:
    if signatures.barbican_from_catalog and not keystone.auth_url:
        raise SettingsError(
            "CATALOG_SIGNATURE_BARBICAN_FROM_CATALOG: needs CATALOG_KEYSTONE_AUTH_URL to read "
            "the catalog"
        )
