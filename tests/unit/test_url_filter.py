"""The import filter on URLs (Glance's `import_filtering_opts`): allow-lists win over deny-lists."""

from __future__ import annotations

import pytest
from yarl import URL

from stores.errors import InvalidLocation
from stores.url_filter import Listed, UrlFilter

GLANCES = UrlFilter(
    schemes=Listed.of(allowed=("http", "https")), ports=Listed.of(allowed=(80, 443))
)


@pytest.mark.parametrize(
    "url", ["http://example.com/x", "https://example.com/x", "HTTPS://example.com:443/x"]
)
def test_glances_defaults_pass_web_urls_on_their_ports(url: str) -> None:
    GLANCES.check(URL(url))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "scheme"),
        ("http://example.com:8080/x", "port"),
        ("https://example.com:80/x", None),
    ],
)
def test_glances_defaults_refuse_other_schemes_and_ports(url: str, why: str | None) -> None:
    if why is None:
        GLANCES.check(URL(url))  # 80 is allowed whatever the scheme
        return
    with pytest.raises(InvalidLocation, match=why):
        GLANCES.check(URL(url))


def test_an_allow_list_makes_the_deny_list_unread() -> None:
    hosts = Listed.of(allowed=("example.com",), disallowed=("example.com", "other.org"))
    only = UrlFilter(hosts=hosts)
    only.check(URL("http://example.com/x"))
    with pytest.raises(InvalidLocation, match="host"):
        only.check(URL("http://other.net/x"))


def test_a_deny_list_refuses_what_it_names_and_only_that() -> None:
    denied = UrlFilter(hosts=Listed.of(disallowed=("metadata.internal",)))
    denied.check(URL("http://example.com/x"))
    with pytest.raises(InvalidLocation, match="host"):
        denied.check(URL("http://Metadata.Internal./x"))


def test_nothing_listed_passes_every_url() -> None:
    UrlFilter().check(URL("gopher://example.com:70/x"))
