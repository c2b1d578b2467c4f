"""A real headless Chromium (Debian's `chromium`, driven through its `chromedriver` by
Selenium), for the web console's tests, and the ways those tests use it.

Selenium rather than Playwright: Playwright drives only the browser builds it downloads itself,
while Selenium speaks WebDriver to the chromedriver Debian ships with its chromium
(`infra/local/tools` installs both), so nothing is fetched at test time.

Every wait is for a condition on the page, bounded by the suite's generous deadline.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.serving import ANSWER_SECONDS
from tests.waiting import DEADLINE_SECONDS, POLL_SECONDS

T = TypeVar("T")
Browser = webdriver.Chrome


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is missing: infra/local/tools installs it (Debian's chromium packages)"
        )
    return found


def start_browser(profile: Path) -> Browser:
    options = webdriver.ChromeOptions()
    options.binary_location = _tool("chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root, Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(_tool("chromedriver")), options=options)
    browser.set_page_load_timeout(ANSWER_SECONDS)
    browser.set_script_timeout(ANSWER_SECONDS)
    return browser


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    started = start_browser(tmp_path / "chromium-profile")
    yield started
    started.quit()


def wait_for(browser: Browser, check: Callable[[Browser], T | None], what: str) -> T:
    """The first true value of `check`, polled; elements replaced meanwhile count as not yet."""
    waiting = WebDriverWait(
        browser,
        DEADLINE_SECONDS,
        poll_frequency=POLL_SECONDS,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    )
    found = waiting.until(check, f"not within {DEADLINE_SECONDS:g} s: {what}")
    assert found is not None  # `until` returns only a true value
    return found


def show(browser: Browser, url: str, fragment: str) -> WebElement:
    """The console at `url` showing `fragment` (`#/images?...`), once all of it is there."""
    browser.get(f"{url}/console/{fragment}")
    return shown(browser, fragment)


def shown(browser: Browser, fragment: str) -> WebElement:
    """The page's view, once it shows `fragment` entirely."""

    def ready(b: Browser) -> WebElement | None:
        view = b.find_element(By.ID, "view")
        done = view.get_attribute("data-state") == "ready"
        return view if done and view.get_attribute("data-shown") == fragment else None

    return wait_for(browser, ready, f"the console showing {fragment}")


def fill(form: WebElement, values: dict[str, str]) -> None:
    """Type or choose each value in the form's field of that name, then submit it."""
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def listed_names(browser: Browser) -> list[str]:
    """The names in the image list shown (none if it says no image matches)."""
    cells = browser.find_elements(By.CSS_SELECTOR, "#images td[data-column=name]")
    return [cell.text for cell in cells]


def field_of(view: WebElement, fields: str, name: str) -> str:
    """The value shown for `name` in the field list `fields` (`#attributes`, `#properties`)."""
    return view.find_element(By.CSS_SELECTOR, f"{fields} dd[data-field='{name}']").text


def follow(browser: Browser, link: WebElement) -> WebElement:
    """The page's view once the console shows where `link` (to a `#/…` address) leads."""
    fragment = "#" + str(link.get_attribute("href")).split("#", 1)[1]
    link.click()
    return shown(browser, fragment)
