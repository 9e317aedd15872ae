"""Browser tests: a live server on the test database, driven by Playwright in Debian's chromium.

Without /usr/bin/chromium the browser tests are skipped, except under CI=true where that is a
failure: CI must run them. No browser is ever downloaded.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.live_server import LiveServer, live_server  # noqa: F401  (fixture for the browser tests)

CHROMIUM = Path(os.environ.get("MICROFIN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def choose_language(page, language: str) -> None:
    """Press the language switch button (NL, FR, EN) in the page header."""
    # Wait for the page the switch reloads, or what is typed next is lost with the old page.
    with page.expect_navigation():
        page.locator(f'.language-switch button[value="{language}"]').click()
    assert page.locator("html").get_attribute("lang") == language


def sign_in(page, live_server: LiveServer, user, password: str = PASSWORD, language: str | None = None):
    """Open the sign-in page, optionally switch language first, and sign in as ``user`` (typing
    the code of their authenticator app when the account has a second factor)."""
    page.goto(f"{live_server.url}/login")
    if language:
        choose_language(page, language)
    page.locator('input[name="email"]').fill(user.email)
    page.locator('input[name="password"]').fill(password)
    page.locator('#login button[type="submit"]').click()
    home, code_page = f"{live_server.url}/", f"{live_server.url}/login/code"
    page.wait_for_url(lambda url: url in (home, code_page))
    if page.url == code_page:
        from tests.conftest import totp_code

        page.locator('input[name="code"]').fill(totp_code(user))
        page.locator('#second-factor-code button[type="submit"]').first.click()
    page.wait_for_url(home)
