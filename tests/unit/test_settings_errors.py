"""A mistake in the settings is one line naming the variable and what it accepts, every
mistake at once, never the value given (it may be a secret)."""

from __future__ import annotations

import os

import pytest

from infra.operator_errors import SettingsError
from infra.settings import Settings, read_settings


@pytest.fixture(autouse=True)
def _no_settings_but_the_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("CATALOG_"):
            monkeypatch.delenv(name)


def mistakes(monkeypatch: pytest.MonkeyPatch, **given: str) -> list[str]:
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        read_settings()
    return list(raised.value.lines)


def test_nothing_set_is_the_embedded_catalog() -> None:
    settings = read_settings()
    assert settings.api.auth_mode == "noauth"
    assert settings.database.url is None
    assert settings.log.format == "console"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "CATALOG_API_AUTH_MODE",
            "kestone",
            "CATALOG_API_AUTH_MODE: must be one of noauth, trusted-headers, keystone",
        ),
        ("CATALOG_API_WORKERS", "two", "CATALOG_API_WORKERS: must be a whole number"),
        ("CATALOG_API_WORKERS", "0", "CATALOG_API_WORKERS: must be at least 1"),
        (
            "CATALOG_UPLOAD_LEASE_SECONDS",
            "0",
            "CATALOG_UPLOAD_LEASE_SECONDS: must be greater than 0",
        ),
        (
            "CATALOG_API_SHOW_LOCATIONS",
            "maybe",
            "CATALOG_API_SHOW_LOCATIONS: must be true or false",
        ),
        (
            "CATALOG_KAFKA_RELAY_IDLE_SECONDS",
            "soon",
            "CATALOG_KAFKA_RELAY_IDLE_SECONDS: must be a number",
        ),
        ("CATALOG_LOG_FORMAT", "xml", "CATALOG_LOG_FORMAT: must be one of console, json"),
        (
            "CATALOG_LOG_LEVEL",
            "loud",
            "CATALOG_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR",
        ),
        (
            "CATALOG_API_BIND",
            "9292",
            "CATALOG_API_BIND: must be HOST:PORT, e.g. 127.0.0.1:9292 or [::]:9292",
        ),
        (
            "CATALOG_DATABASE_URL",
            "mysql://root:s3cret@db/catalog",
            "CATALOG_DATABASE_URL: must be postgresql://user:password@host:port/database, "
            "or sqlite:////path/to/catalog.db",
        ),
        (
            "CATALOG_API_PUBLIC_ENDPOINT",
            "image.example.com",
            "CATALOG_API_PUBLIC_ENDPOINT: must be an http(s) URL without query, "
            "e.g. https://image.example.com",
        ),
        (
            "CATALOG_API_TRUSTED_PROXIES",
            "10.0.0.1,proxy.example.com",
            "CATALOG_API_TRUSTED_PROXIES: 'proxy.example.com' is not an address or a network "
            "(CIDR); expected e.g. 10.0.0.5,192.168.10.0/24",
        ),
        (
            "CATALOG_TASK_IMPORT_ALLOWED_NETWORKS",
            "10.20.0.0/16,intranet",
            "CATALOG_TASK_IMPORT_ALLOWED_NETWORKS: 'intranet' is not an address or a network "
            "(CIDR); expected e.g. 10.0.0.5,192.168.10.0/24",
        ),
        (
            "CATALOG_QUOTA_PROJECTS",
            "{proj-a: 5}",
            'CATALOG_QUOTA_PROJECTS: must be a JSON object, e.g. {"proj-a": {"image_size_total":'
            " 10240}}",
        ),
        (
            "CATALOG_QUOTA_PROJECTS",
            '{"proj-a": {"image_size_total": -2}}',
            "CATALOG_QUOTA_PROJECTS (proj-a.image_size_total): must be at least -1",
        ),
        (
            "CATALOG_QUOTA_PROJECTS",
            '{"proj-a": {"images": 5}}',
            "CATALOG_QUOTA_PROJECTS (proj-a.images): is not a name this setting knows",
        ),
        (
            "CATALOG_STORES",
            "local",
            "CATALOG_STORES: expected name:driver pairs, e.g. local:file,objects:s3; got 'local'",
        ),
        (
            "CATALOG_STORES",
            "local:ftp",
            "CATALOG_STORES: store 'local': unknown driver 'ftp'; known: file, s3, http",
        ),
        (
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL",
            "amqp://glance:s3cret@mq1:5672/",
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL: 'amqp://***@mq1:5672/': unknown transport "
            "'amqp' (known: rabbit://, kafka://, noop)",
        ),
        (
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL",
            "rabbit://glance:s3cret@mq1/ kafka://k1:9092/ rabbit://glance:n3w@mq1:5672/",
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL: rabbit://mq1:5672/ is named twice",
        ),
        (
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL",
            "rabbit://glance:s3cret@mq1:56720000/",
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL: 'rabbit://***@mq1:56720000/': port 56720000 "
            "is out of range",
        ),
        (
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL",
            "rabbit://glance:s3cret@mq1/?ssl=1&key=s3cret",
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL: 'rabbit://***@mq1/': options after `?` are "
            "not read; remove them",
        ),
        (
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL",
            "s3cret",
            "CATALOG_NOTIFICATIONS_TRANSPORT_URL: expected transport URLs, e.g. "
            "rabbit://user:pass@host:5672/ or noop",
        ),
        (
            "CATALOG_NOTIFICATIONS_TOPICS",
            " , ",
            "CATALOG_NOTIFICATIONS_TOPICS: must name at least one topic, e.g. notifications",
        ),
    ],
)
def test_a_mistake_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, line: str
) -> None:
    assert mistakes(monkeypatch, **{variable: value}) == [line]


def test_a_stores_networks_are_checked_as_every_setting_of_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    told = mistakes(
        monkeypatch,
        CATALOG_STORES="local:file,web:http",
        CATALOG_STORE_WEB_ALLOWED_NETWORKS="10.20.0.0/16,intranet",
    )
    assert told == [
        "CATALOG_STORE_WEB_ALLOWED_NETWORKS: 'intranet' is not an address or a network (CIDR); "
        "expected e.g. 10.0.0.5,192.168.10.0/24"
    ]


def test_every_mistake_is_told_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    told = mistakes(
        monkeypatch,
        CATALOG_API_AUTH_MODE="keystone",
        CATALOG_STORES="objects:s3",
        CATALOG_STORE_OBJECTS_PART_SIZE_MIB="1",
        CATALOG_QUOTA_IMAGE_COUNT_TOTAL="many",
    )
    assert told == [
        "CATALOG_QUOTA_IMAGE_COUNT_TOTAL: must be a whole number",
        "CATALOG_STORE_OBJECTS_PART_SIZE_MIB: must be at least 5",
        "CATALOG_KEYSTONE_AUTH_URL, CATALOG_KEYSTONE_USERNAME, CATALOG_KEYSTONE_PASSWORD, "
        "CATALOG_KEYSTONE_PROJECT_NAME: needed with CATALOG_API_AUTH_MODE=keystone",
    ]


def test_the_value_given_is_never_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    told = mistakes(monkeypatch, CATALOG_DATABASE_URL="mysql://root:s3cret@db/catalog")
    assert "s3cret" not in "\n".join(told)


def test_names_are_read_whatever_their_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_LOG_LEVEL", "debug")
    monkeypatch.setenv("CATALOG_LOG_FORMAT", "JSON")
    monkeypatch.setenv("CATALOG_QUOTA_PROJECTS", '{"proj-a": {"image_count_total": 3}}')
    settings: Settings = read_settings()
    assert (settings.log.level, settings.log.format) == ("DEBUG", "json")
    assert settings.quotas.limits().of("proj-a").image_count_total == 3
    assert settings.quotas.limits().of("proj-a").image_size_total == -1
