"""Screenshots of the web console's main pages for docs/console/, taken in the same headless
Chromium as its tests, of an embedded catalog holding a few images with some history:

    .venv/bin/python -m tests.console_screenshots docs/console
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from selenium.webdriver.common.by import By

from tests.browser import Browser, show, start_browser
from tests.e2e.conftest import ADMIN, PROJECT_A, glance_api, start_server, stop_server

WIDTH, HEIGHT = 1400, 1000


def catalog_with_history(url: str) -> str:
    """A few images; the id of one that was renamed, tagged, shared and described."""
    owner, admin = glance_api(url, PROJECT_A), glance_api(url, ADMIN)
    for name, visibility in (("ubuntu-24.04", "public"), ("fedora-41", "public")):
        made = admin.images.create(
            name=name, disk_format="raw", container_format="bare", visibility=visibility
        )
        admin.images.upload(made["id"], io.BytesIO(f"{name} disk".encode()))
    owner.images.create(name="build-cache", disk_format="raw", container_format="bare")
    image: Any = owner.images.create(
        name="debian-12",
        disk_format="raw",
        container_format="bare",
        visibility="private",
        os_distro="debian",
        tags=["lts"],
    )
    owner.images.upload(image["id"], io.BytesIO(b"debian disk image"))
    owner.images.update(image["id"], name="debian-12.8", os_version="12.8", hw_disk_bus="virtio")
    owner.image_tags.update(image["id"], "hardened")
    owner.images.update(image["id"], visibility="shared")
    owner.image_members.create(image["id"], "proj-b")
    return str(image["id"])


def save(browser: Browser, path: Path, element: str | None = None) -> None:
    if element is None:
        browser.save_screenshot(str(path))
    else:
        browser.find_element(By.CSS_SELECTOR, element).screenshot(str(path))
    print(path)


def screenshots(url: str, browser: Browser, image_id: str, folder: Path) -> None:
    show(browser, url, "#/images?sort=name:asc")
    save(browser, folder / "list.png")
    view = show(browser, url, f"#/images/{image_id}")
    save(browser, folder / "image.png")
    created = view.find_element(By.CSS_SELECTOR, "li.event[data-type='image.created'] time")
    first = quote(str(created.get_attribute("datetime")), safe="")
    show(browser, url, f"#/images/{image_id}?as_of={first}")
    save(browser, folder / "as-of.png")
    show(browser, url, f"#/images/{image_id}?from={first}&to=now")
    save(browser, folder / "history-diff.png", "#history")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        url, server = start_server(Path(work) / "data", Path(work) / "server.log", {})
        browser = start_browser(Path(work) / "profile")
        try:
            browser.set_window_size(WIDTH, HEIGHT)
            screenshots(url, browser, catalog_with_history(url), folder)
        finally:
            browser.quit()
            stop_server(server)


if __name__ == "__main__":
    main()
