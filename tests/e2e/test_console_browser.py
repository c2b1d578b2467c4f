"""The web console in a real headless Chromium, against a real `catalog serve` whose callers
are named by a trusted front's headers (and, at the end, signed in with Keystone): its pages
load, a filter narrows the list, a change made through the API is in its timeline with the image
as it was and what changed, and nobody sees in it what the API would not show them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from glanceclient import Client as GlanceClient
from selenium.webdriver.common.by import By

from tests.browser import (
    Browser,
    browser,
    field_of,
    fill,
    follow,
    listed_names,
    show,
    shown,
    wait_for,
)
from tests.conftest import service_setting
from tests.e2e.conftest import ADMIN, PROJECT_A, STRANGER, StartServer, glance_api
from tests.keystone_accounts import Account, KeystoneAdmin, keystone_url

__all__ = ["browser"]  # the fixture the tests use


@pytest.fixture
def url(serve: StartServer) -> str:
    return serve({"CATALOG_API_AUTH_MODE": "trusted-headers"})


def sign_in(browser: Browser, url: str, identity: dict[str, str]) -> None:
    """Through the console's form, as a trusted front's headers would name the caller."""
    view = show(browser, url, "#/sign-in")
    given = {
        "project": identity["X-Project-Id"],
        "user": identity["X-User-Id"],
        "roles": identity["X-Roles"],
    }
    fill(view.find_element(By.ID, "header-sign-in"), given)
    shown(browser, "#/images")


def new_image(url: str, identity: dict[str, str], name: str, **attributes: Any) -> Any:
    api = glance_api(url, identity)
    return api.images.create(name=name, disk_format="raw", container_format="bare", **attributes)


def test_pages_load_and_a_filter_narrows_the_list(url: str, browser: Browser) -> None:
    new_image(url, PROJECT_A, "console-debian", os_distro="debian", tags=["lts"])
    new_image(url, PROJECT_A, "console-fedora", os_distro="fedora")
    sign_in(browser, url, PROJECT_A)
    assert sorted(listed_names(browser)) == ["console-debian", "console-fedora"]

    fill(browser.find_element(By.ID, "filters"), {"name": "console-debian"})
    shown(browser, "#/images?name=console-debian")
    assert listed_names(browser) == ["console-debian"]
    fill(browser.find_element(By.ID, "filters"), {"name": "", "tag": "nothing-has-it"})
    shown(browser, "#/images?tag=nothing-has-it")
    assert listed_names(browser) == []
    assert browser.find_element(By.ID, "no-images").is_displayed()

    # The list's page links to the image's.
    view = show(browser, url, "#/images?sort=name:asc")
    page = follow(browser, view.find_element(By.LINK_TEXT, "console-debian"))
    assert field_of(page, "#properties", "os_distro") == "debian"
    assert page.find_element(By.ID, "tags").text == "lts"


def test_the_timeline_shows_a_change_made_through_the_api(url: str, browser: Browser) -> None:
    made = new_image(url, PROJECT_A, "before-rename")
    glance_api(url, PROJECT_A).images.update(made["id"], name="after-rename", hw_disk_bus="virtio")
    sign_in(browser, url, PROJECT_A)

    view = show(browser, url, f"#/images/{made['id']}")
    assert field_of(view, "#attributes", "name") == "after-rename"
    updated = view.find_element(By.CSS_SELECTOR, "li.event[data-type='image.updated']")
    assert "after-rename" in updated.text
    assert PROJECT_A["X-User-Id"] in updated.find_element(By.CLASS_NAME, "who").text
    assert updated.find_element(By.CSS_SELECTOR, ".request code").text.startswith("req-")

    # The image as it was after its creation: the name it had then.
    created = view.find_element(By.CSS_SELECTOR, "li.event[data-type='image.created']")
    view = follow(browser, created.find_element(By.LINK_TEXT, "The image after this"))
    assert "As it was at" in view.find_element(By.ID, "as-of").text
    assert field_of(view, "#attributes", "name") == "before-rename"
    [marked] = view.find_elements(By.CSS_SELECTOR, "li.event.shown")
    assert marked.get_attribute("data-type") == "image.created"

    # What the update changed.
    updated = view.find_element(By.CSS_SELECTOR, "li.event[data-type='image.updated']")
    diff = follow(browser, updated.find_element(By.LINK_TEXT, "What changed")).find_element(
        By.ID, "diff"
    )
    name = diff.find_element(By.CSS_SELECTOR, "tr[data-field=name]")
    assert name.find_element(By.CLASS_NAME, "was").text == "before-rename"
    assert name.find_element(By.CLASS_NAME, "is").text == "after-rename"
    added = diff.find_element(By.CSS_SELECTOR, "tr[data-field=hw_disk_bus]")
    assert added.get_attribute("class") == "added"


def test_a_stranger_sees_no_private_image(url: str, browser: Browser) -> None:
    secret = new_image(url, PROJECT_A, "console-secret", visibility="private")
    new_image(url, ADMIN, "console-public", visibility="public")
    sign_in(browser, url, STRANGER)
    assert listed_names(browser) == ["console-public"]
    view = show(browser, url, "#/images?visibility=all")
    assert listed_names(browser) == ["console-public"]

    # Nor by its address: the API's answer (not found) is all the console shows.
    view = show(browser, url, f"#/images/{secret['id']}")
    assert "console-secret" not in view.text
    assert secret["id"] in view.find_element(By.ID, "failure").text
    # Its history neither.
    view = show(browser, url, f"#/images/{secret['id']}?to=now")
    assert view.find_elements(By.ID, "history") == []


def test_an_admin_sees_the_locations(url: str, browser: Browser) -> None:
    made = new_image(url, PROJECT_A, "console-located")
    glance_api(url, PROJECT_A).images.upload(made["id"], io.BytesIO(b"some image data"))
    sign_in(browser, url, PROJECT_A)
    view = show(browser, url, f"#/images/{made['id']}")
    assert view.find_element(By.ID, "stores").text == "file"
    assert view.find_elements(By.ID, "locations") == []

    sign_in(browser, url, ADMIN)
    view = show(browser, url, f"#/images/{made['id']}")
    [location] = view.find_elements(By.CSS_SELECTOR, "#locations li")
    assert location.text.startswith("file://")
    assert made["id"] in location.text


@pytest.fixture
def keystone_url_of_catalog(serve: StartServer) -> str:
    """A catalog that validates Keystone tokens itself."""
    return serve(
        {
            "CATALOG_API_AUTH_MODE": "keystone",
            "CATALOG_KEYSTONE_AUTH_URL": keystone_url(),
            "CATALOG_KEYSTONE_USERNAME": service_setting("CATALOG_TEST_KEYSTONE_CATALOG_USER"),
            "CATALOG_KEYSTONE_PASSWORD": service_setting("CATALOG_TEST_KEYSTONE_CATALOG_PASSWORD"),
            "CATALOG_KEYSTONE_PROJECT_NAME": "service",
        }
    )


def keystone_sign_in(browser: Browser, account: Account, password: str | None = None) -> None:
    form = browser.find_element(By.ID, "password-sign-in")
    given = {
        "username": account.user_name,
        "password": password or account.password,
        "project": account.project_name,
    }
    fill(form, given)


@pytest.mark.keystone
async def test_signing_in_with_keystone(
    keystone_url_of_catalog: str, keystone_admin: KeystoneAdmin, browser: Browser
) -> None:
    url = keystone_url_of_catalog
    owner = await keystone_admin.account("member")
    stranger = await keystone_admin.account("member")
    token = await keystone_admin.token_of(owner)
    api = GlanceClient(endpoint=f"{url}/v2", token=token)
    api.images.create(name="keystone-private", disk_format="raw", container_format="bare")

    # Without a token, the console asks for one before it calls the API.
    view = show(browser, url, "")
    assert keystone_url() in view.text
    keystone_sign_in(browser, owner, password="not-the-password")
    error = wait_for(
        browser,
        lambda b: b.find_element(By.CSS_SELECTOR, "#password-sign-in .error").text,
        "the refusal",
    )
    assert "did not accept" in error

    keystone_sign_in(browser, owner)
    shown(browser, "#/images")
    assert listed_names(browser) == ["keystone-private"]
    assert owner.user_name in browser.find_element(By.ID, "who").text

    browser.find_element(By.ID, "sign-out").click()
    shown(browser, "#/sign-in")
    keystone_sign_in(browser, stranger)
    shown(browser, "#/images")
    assert listed_names(browser) == []

    # A token pasted in is taken as it is.
    browser.find_element(By.ID, "sign-out").click()
    shown(browser, "#/sign-in")
    fill(browser.find_element(By.ID, "token-sign-in"), {"token": token})
    shown(browser, "#/images")
    assert listed_names(browser) == ["keystone-private"]
