"""Settings, one class per concern, each read from `CATALOG_*` environment variables.

Nothing set means the embedded catalog: SQLite and files under `./catalog-data`, no Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_DATABASE_")

    url: str | None = None
    """`postgresql://user:password@host:port/db`; unset: SQLite at `<data_dir>/catalog.db`."""
    pool_size: int = 10


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_API_")

    bind: str = "127.0.0.1:9292"
    auth_mode: Literal["noauth", "trusted-headers"] = "noauth"
    """noauth: a request without identity headers acts as the default project, with every role.
    trusted-headers: identity comes only from X-Project-Id / X-User-Id / X-Roles."""
    default_project: str = "default"
    default_user: str = "default"
    workers: int = Field(default=1, ge=1)
    """Server processes sharing the listening socket; more than one needs PostgreSQL."""


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_STORE_")

    default: Literal["file", "s3"] = "file"
    filesystem_dir: Path | None = None
    """Unset: `<data_dir>/images`."""
    s3_endpoint: str | None = None
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "images"
    s3_region: str = "us-east-1"


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_KAFKA_")

    bootstrap_servers: str | None = None
    """Unset: no Kafka; consumers tail the log in-process."""
    events_topic: str = "catalog.events"
    relay_batch_size: int = 500
    relay_idle_seconds: float = 0.05


@dataclass
class Settings:
    """Every concern's settings, read once by the entrypoint and passed down."""

    core: CoreSettings = field(default_factory=CoreSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.core.data_dir / 'catalog.db').resolve()}"

    @property
    def filesystem_dir(self) -> Path:
        return (self.store.filesystem_dir or self.core.data_dir / "images").resolve()
