"""What the browser tests share: Debian's Chromium driven by Playwright against live_server.

Needs /usr/bin/chromium (scripts/ensure-chromium installs it). Without it the tests are skipped, except
on CI (CI=true), where a missing browser is a failure. Screenshots go to tests/e2e/screenshots/.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent / "screenshots"
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required on CI; run scripts/ensure-chromium)", pytrace=False)
    pytest.skip(f"{reason}; run scripts/ensure-chromium")


@pytest.fixture
def playwright_api():
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("playwright is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    return sync_api


@contextmanager
def chinese_tab(playwright_api) -> Iterator:
    """A fresh tab of a Chinese-speaking Chromium in Shanghai time. It records failed responses
    (`tab.failed_responses`) and script errors (`tab.errors`). Open it after writing test data:
    Django's ORM refuses to run while Playwright's event loop is active in the same thread."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        tab.failed_responses, tab.errors = [], []
        tab.on("response", lambda r: r.status >= 400 and tab.failed_responses.append(f"{r.status} {r.url}"))
        tab.on("pageerror", lambda e: tab.errors.append(str(e)))
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def sign_in(page, base_url: str, username: str, password: str, then: str) -> None:
    """Sign in at the admin's login page and land on `then` (a path)."""
    page.goto(f"{base_url}/admin/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form [type=submit]").click()
    page.wait_for_url(f"{base_url}{then}")


def shoot(page, name: str) -> None:
    """Screenshot of the whole page: the viewport grows to the page's height first, so the sticky
    sidebar and submit row are drawn where a user sees them rather than half-way down."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(900, min(height, 4000))})
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size({"width": 1440, "height": 900})
