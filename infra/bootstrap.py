"""The composition root: the one place that builds concrete objects from settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from catalog.commands.conflict_retry import ConflictRetry
from catalog.commands.context import (
    CommandContext,
    Deletion,
    ImportPlugins,
    Limits,
    OtherRegions,
    Tasks,
)
from catalog.commands.registry import CommandBus
from catalog.commands.repository import (
    ImageRepository,
    NamespaceRepository,
    Snapshotting,
    TaskRepository,
)
from catalog.policy import Policy
from catalog.projections.registry import INLINE_PROJECTIONS
from infra.certificates import BarbicanCertificates, DirectoryCertificates, FirstFound
from infra.clock import SystemClock
from infra.consumers.inline import InlineConsumers
from infra.data_stores import ConfiguredStore, ConfiguredStores, RemoteHttpData, TranslatingStore
from infra.db.database import Database, Pool
from infra.db.event_log import SqlEventLog
from infra.db.opening import open_existing, open_migrated
from infra.db.snapshots import SqlSnapshots
from infra.image_cache.disk import ImageCache
from infra.keystone.service_catalog import KeystoneServiceCatalog
from infra.location_holders import DatabaseLocationHolders
from infra.metadef_namespaces import DatabaseNamespaceStreams
from infra.operator_errors import OperatorError, SettingsError
from infra.policy_files import load_policy
from infra.qemu_img import QemuImgConverter
from infra.quota_usage import DatabaseQuotaUsage
from infra.settings import CoreSettings, Settings
from infra.store_options import FilesystemOptions, HttpOptions, S3Options, StoreOptions
from stores.base import ImageStore
from stores.filesystem import FilesystemStore
from stores.http import HttpStore
from stores.s3 import S3Store
from stores.streaming import READ_CHUNK_SIZE, MiB


@dataclass
class Container:
    settings: Settings
    node_id: str
    database: Database
    log: SqlEventLog
    inline_consumers: InlineConsumers
    """The consumers running here that apply events at their append (`log`'s effects)."""
    stores: ConfiguredStores
    bus: CommandBus
    policy: Policy
    remote: RemoteHttpData
    """Where imports fetch data from URLs (web-download, glance-download, the tasks API's)."""
    certificates: FirstFound
    """Where the certificates of signed images are found."""
    image_cache: ImageCache | None = None
    """This node's image cache, if `CATALOG_IMAGE_CACHE_DIR` is set."""
    service_catalog: KeystoneServiceCatalog | None = None
    """Callers' service catalogs in Keystone, if its address is set."""

    async def close(self) -> None:
        await self.bus.context.background.close()  # records its ends while it still can
        await self.certificates.close()
        if self.service_catalog is not None:
            await self.service_catalog.close()
        await self.remote.close()
        await self.stores.close()
        await self.database.close()


def snapshotting(core: CoreSettings, database: Database) -> Snapshotting | None:
    if core.snapshot_every == 0:
        return None
    return Snapshotting(SqlSnapshots(database), core.snapshot_every, core.snapshot_check)


def build_service_catalog(settings: Settings) -> KeystoneServiceCatalog | None:
    """Callers' service catalogs, where Keystone's address is known."""
    keystone = settings.keystone
    if keystone.auth_url is None:
        return None
    return KeystoneServiceCatalog(keystone.auth_url, timeout=keystone.timeout_seconds)


def build_certificates(
    settings: Settings, service_catalog: KeystoneServiceCatalog | None
) -> FirstFound:
    """The certificate sources `CATALOG_SIGNATURE_*` configures, the folder first."""
    signatures = settings.signatures
    folder = signatures.certificates_dir
    barbican = None
    if signatures.barbican_url or signatures.barbican_from_catalog:
        barbican = BarbicanCertificates(
            url=None if signatures.barbican_from_catalog else signatures.barbican_url,
            catalog=service_catalog,
            interface=signatures.barbican_interface,
            timeout=signatures.barbican_timeout_seconds,
        )
    return FirstFound(DirectoryCertificates(folder) if folder else None, barbican)


def build_import_plugins(settings: Settings) -> ImportPlugins:
    """The import plugins `CATALOG_IMPORT_*` enables; `image_conversion` needs qemu-img."""
    imports = settings.imports
    converter = QemuImgConverter.found(imports.conversion_work_dir)
    if "image_conversion" in imports.enabled() and converter is None:
        raise OperatorError(
            "CATALOG_IMPORT_PLUGINS: image_conversion needs qemu-img on the PATH "
            "(Debian's qemu-utils package)"
        )
    return ImportPlugins(
        enabled=imports.enabled(),
        output_format=imports.conversion_output_format,
        converter=converter,
        inject=imports.injected(),
        ignore_user_roles=imports.ignored_roles(),
    )


def build_stores(settings: Settings) -> ConfiguredStores:
    """Every store named in `CATALOG_STORES`, each with its driver and options."""
    configured = [
        _configured_store(settings, name, driver, options)
        for name, driver, options in settings.stores.configured()
    ]
    try:
        return ConfiguredStores(configured, settings.stores.default_name)
    except ValueError as e:
        raise SettingsError(f"CATALOG_DEFAULT_STORE: the {e}") from None


def _configured_store(
    settings: Settings, name: str, driver_name: str, options: StoreOptions
) -> ConfiguredStore:
    driver: ImageStore
    properties: dict[str, object]
    match options:
        case FilesystemOptions():
            folder = (options.dir or settings.core.data_dir / "stores" / name).resolve()
            driver = FilesystemStore(folder, direct_io=options.direct_io)
            properties = {
                "data_dir": str(folder),
                "chunk_size": READ_CHUNK_SIZE,
                "thin_provisioning": False,
            }
        case S3Options():
            driver = S3Store(
                endpoint_url=options.endpoint,
                access_key=options.access_key,
                secret_key=options.secret_key,
                bucket=options.bucket,
                region=options.region,
                multipart_threshold=options.multipart_threshold_mib * MiB,
                part_size=options.part_size_mib * MiB,
            )
            properties = {
                "bucket": options.bucket,
                "large_object_size": options.multipart_threshold_mib,
                "large_object_chunk_size": options.part_size_mib,
            }
        case HttpOptions():
            driver = HttpStore(allowed_networks=options.networks())
            properties = {}
        case _:
            raise ValueError(f"store {name!r}: the {driver_name} driver is not available")
    return ConfiguredStore(
        name=name,
        driver_name=driver_name,
        store=TranslatingStore(driver),
        description=options.description,
        weight=options.weight,
        properties=properties,
    )


def build_image_cache(settings: Settings) -> ImageCache | None:
    """The node's image cache in `CATALOG_IMAGE_CACHE_DIR`, its folders made; None if unset."""
    options = settings.image_cache
    if options.dir is None:
        return None
    cache = ImageCache(
        options.dir.resolve(), max_size=options.max_size, stall_time=options.stall_time
    )
    try:
        cache.create_folders()
    except OSError as e:
        raise OperatorError(
            f"CATALOG_IMAGE_CACHE_DIR: cannot use {options.dir}: {e.strerror}"
        ) from e
    return cache


async def open_database_of(settings: Settings, *, migrate: bool = True) -> Database:
    """The catalog's database. `migrate`: its schema brought up to date first (the embedded
    one created if missing); otherwise it must exist, up to date (commands that only read)."""
    url = settings.database_url
    pool = Pool(settings.database.pool_size, settings.database.pool_timeout_seconds)
    if not migrate:
        return await open_existing(url, pool=pool)
    if settings.database.url is None:
        try:
            settings.core.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OperatorError(
                f"CATALOG_DATA_DIR: cannot create {settings.core.data_dir}: {e.strerror}"
            ) from e
    return await open_migrated(url, pool=pool)


async def build(settings: Settings, *, migrate: bool = True) -> Container:
    """Build everything the API needs, the database opened as `open_database_of` says. A
    policy file or a store that cannot be used fails first, before the database is opened."""
    policy = load_policy(settings.policy)
    image_cache = build_image_cache(settings)
    import_plugins = build_import_plugins(settings)  # refused before anything is opened
    stores = build_stores(settings)
    try:
        database = await open_database_of(settings, migrate=migrate)
    except BaseException:
        await stores.close()
        raise
    quota_limits = settings.quotas.limits()
    inline_consumers = InlineConsumers()
    log = SqlEventLog(database, INLINE_PROJECTIONS, quota_limits, effects=inline_consumers)
    node_id = f"node-{uuid.uuid4()}"
    retry_budget = settings.core.conflict_retry_seconds
    remote = RemoteHttpData(
        HttpStore(
            allowed_networks=settings.tasks.import_networks(),
            url_filter=settings.tasks.import_filter(),
            read_timeout=settings.tasks.import_read_timeout,
        )
    )
    service_catalog = build_service_catalog(settings)
    certificates = build_certificates(settings, service_catalog)
    snapshots = snapshotting(settings.core, database)
    context = CommandContext(
        images=ImageRepository(log, ConflictRetry(budget=retry_budget), snapshots),
        tasks=TaskRepository(log, ConflictRetry(budget=retry_budget), snapshots),
        stores=stores,
        clock=SystemClock(),
        holders=DatabaseLocationHolders(database),
        metadefs=NamespaceRepository(log, ConflictRetry(budget=retry_budget), snapshots),
        namespaces=DatabaseNamespaceStreams(database),
        limits=Limits(
            image_size_cap=settings.core.image_size_cap,
            image_tag_quota=settings.core.image_tag_quota,
            image_property_quota=settings.core.image_property_quota,
            image_member_quota=settings.core.image_member_quota,
        ),
        node_id=node_id,
        quotas=DatabaseQuotaUsage(database, quota_limits),
        deletion=Deletion(
            delayed=settings.deletion.delayed_delete,
            scrub_time=timedelta(seconds=settings.deletion.scrub_time),
            store_attempts=settings.deletion.scrub_retries,
            retry_delay=timedelta(seconds=settings.deletion.scrub_retry_seconds),
        ),
        policy=policy,
        certificates=certificates,
        task_settings=Tasks(
            time_to_live=timedelta(hours=settings.tasks.time_to_live), remote=remote
        ),
        import_plugins=import_plugins,
        regions=OtherRegions(
            catalog=service_catalog, copied_properties=settings.imports.copied_properties()
        ),
    )
    return Container(
        settings=settings,
        node_id=node_id,
        database=database,
        log=log,
        inline_consumers=inline_consumers,
        stores=stores,
        bus=CommandBus(context),
        policy=policy,
        remote=remote,
        image_cache=image_cache,
        certificates=certificates,
        service_catalog=service_catalog,
    )
