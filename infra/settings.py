"""Settings, one class per concern, each read from `CATALOG_*` environment variables.

Nothing set means the embedded catalog: SQLite and files under `./catalog-data`, no Kafka.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.quotas import ProjectLimits, QuotaLimits
from infra.keystone.tokens import KeystoneCredentials


class CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_")

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


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_DATABASE_")

    url: str | None = None
    """`postgresql://user:password@host:port/db`; unset: SQLite at `<data_dir>/catalog.db`."""
    pool_size: int = 10


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_API_")

    bind: str = "127.0.0.1:9292"
    auth_mode: Literal["noauth", "trusted-headers", "keystone"] = "noauth"
    """noauth: a request without identity headers acts as the default project, with every role.
    trusted-headers: identity comes only from X-Project-Id / X-User-Id / X-Roles (behind
    keystonemiddleware or a gateway of the deployment's own). keystone: the catalog validates
    X-Auth-Token with Keystone itself (`CATALOG_KEYSTONE_*`)."""
    default_project: str = "default"
    default_user: str = "default"
    workers: int = Field(default=1, ge=1)
    """Server processes sharing the listening socket; more than one needs PostgreSQL."""
    show_locations: bool = False
    """Show images' `locations` and `direct_url` to every caller. Off by default: store URLs
    reveal the backend's layout and are a way to swap an image's data (OSSN-0065)."""


class KeystoneSettings(BaseSettings):
    """The catalog's own account in Keystone, with which it validates callers' tokens
    (`CATALOG_API_AUTH_MODE=keystone`), and the cache of validated tokens."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_KEYSTONE_")

    auth_url: str | None = None
    """Keystone's public address, e.g. `https://keystone.example.com:5000` (`/v3` may end it);
    also what a 401 tells clients (`WWW-Authenticate`)."""
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    project_name: str | None = None
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
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
            raise ValueError(f"{', '.join(missing)}: needed with CATALOG_API_AUTH_MODE=keystone")
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

    model_config = SettingsConfigDict(env_prefix="CATALOG_")

    policy_file: Path | None = None
    """A Glance `policy.yaml` (or JSON): rules that replace Glance's defaults; unset: the
    defaults."""
    property_protection_file: Path | None = None
    """Glance's property protection file (INI); unset: no property is protected."""
    property_protection_rule_format: Literal["roles", "policies"] = "roles"
    """What the property protection file names: roles, or rules of the policy."""


class StoresSettings(BaseSettings):
    """Which stores hold image data; each store's own options are in `infra/store_options.py`."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_")

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
                raise ValueError(f"CATALOG_STORES: expected name:driver, got {item.strip()!r}")
            pairs.append((name.strip(), driver.strip()))
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"CATALOG_STORES: a store name appears twice in {self.stores!r}")
        return pairs

    @property
    def default_name(self) -> str:
        return self.default_store or self.enabled()[0][0]


class QuotaSettings(BaseSettings):
    """Per-project limits, hard (see catalog/quotas.py); -1 means unlimited."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_QUOTA_")

    image_count_total: int = Field(default=-1, ge=-1)
    """Images per project that are not deleted."""
    image_size_total: int = Field(default=-1, ge=-1)
    """MiB of image data per project, uploads in progress included."""
    projects: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Limits of particular projects, as JSON: `{"proj-a": {"image_size_total": 10240}}`;
    a limit a project does not name is the default's."""

    def limits(self) -> QuotaLimits:
        default = ProjectLimits(self.image_count_total, self.image_size_total)
        return QuotaLimits(
            default=default,
            projects={
                project: ProjectLimits(**{**asdict(default), **given})
                for project, given in self.projects.items()
            },
        )


class DeletionSettings(BaseSettings):
    """Delayed delete (Glance's `delayed_delete`) and the scrubber that removes the data later."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_")

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


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_KAFKA_")

    bootstrap_servers: str | None = None
    """Unset: no Kafka; consumers tail the log in-process."""
    events_topic: str = "catalog.events"
    relay_batch_size: int = 500
    relay_idle_seconds: float = 0.02
    """How often an idle relay looks for rows written by other processes (writers in its own
    process wake it at once)."""


class ConsumerSettings(BaseSettings):
    """The consumers of the log (infra/consumers/): which run inside `catalog serve`."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_CONSUMER_")

    in_process: str = "notifications,scrubber"
    """Consumers `catalog serve` runs beside the API, comma-separated; empty: none (run them
    with `catalog consume NAME` instead)."""
    batch_size: int = Field(default=500, gt=0)
    idle_seconds: float = Field(default=0.05, gt=0)
    """How long a consumer waits for news before it looks again."""

    def names(self) -> list[str]:
        return [name.strip() for name in self.in_process.split(",") if name.strip()]


class NotificationSettings(BaseSettings):
    """Glance-compatible notifications (catalog/notifications.py)."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_NOTIFICATIONS_")

    topic: str = "catalog.notifications"
    publisher_id: str = "image.localhost"
    """The envelope's `publisher_id` (Glance's `default_publisher_id`)."""
    disabled: str = ""
    """Event types not to send, comma-separated: a full type (`image.send`) or a group of them
    (`image.member`, `image`), matched on whole dot-separated parts."""
    retention_hours: float = Field(default=168.0, gt=0)
    """How long sent notifications stay in the outbox table."""

    def disabled_types(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.disabled.split(",") if t.strip())


@dataclass
class Settings:
    """Every concern's settings, read once by the entrypoint and passed down."""

    core: CoreSettings = field(default_factory=CoreSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    keystone: KeystoneSettings = field(default_factory=KeystoneSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    stores: StoresSettings = field(default_factory=StoresSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    quotas: QuotaSettings = field(default_factory=QuotaSettings)
    consumers: ConsumerSettings = field(default_factory=ConsumerSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    deletion: DeletionSettings = field(default_factory=DeletionSettings)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.core.data_dir / 'catalog.db').resolve()}"
