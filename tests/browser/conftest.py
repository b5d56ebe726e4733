"""Browser fixtures: the test app served on a real port, Debian's Chromium driven by Playwright.

The app is the session `app` fixture from tests/conftest.py, so each test's data comes from `world` and
`make` and is emptied by the `db` fixture after the test, exactly as in the other suites. Pages and
contexts are closed before the database is emptied (they depend on `db`), so no request is in flight
while the tables are cleared.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for a loaded 2-core CI machine; a passing step never waits this long.
DEFAULT_TIMEOUT_MS = 10_000
expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Every test in this folder is a browser test (`-m "not browser"` leaves them out)."""
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(app):
    """The test app on 127.0.0.1 at a free port, in a daemon thread; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            from portal.extensions import db

            db.engine.dispose()  # the server threads' pooled connections, before the database is dropped


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run; skipped with a message where it is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser, live_server, db):
    """Open more browser contexts (another user, JavaScript off); all are closed after the test."""
    contexts = []

    def open_context(**options):
        options.setdefault("base_url", live_server)
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A fresh page in its own context (no cookies shared between tests), relative URLs allowed."""
    return new_context().new_page()


def log_in(
    page, email: str, password: str = PASSWORD, succeeds: bool = True, to_bookings: bool = True
) -> None:
    """Log in through the login form, by its visible labels.

    When the login is meant to succeed, waits until the landing page (Home) has loaded (its scripts, htmx
    included, have run), so the next step can rely on the page's behaviour and not race its loading; then,
    unless `to_bookings` is False, goes on to My Bookings by the main navigation, where most walks start.
    """
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if succeeds:
        page.wait_for_url(lambda url: urlsplit(url).path != "/login", wait_until="load")
        if to_bookings and urlsplit(page.url).path == "/home":
            # Agents read "My Bookings"; operations and admins, who see every account, read "Bookings".
            main = page.get_by_role("navigation", name="Main")
            main.get_by_role("link", name=re.compile(r"^(My )?Bookings$")).click()
            page.wait_for_url(lambda url: urlsplit(url).path == "/bookings/", wait_until="load")


def open_admin_menu(page) -> None:
    """Open the header's Admin menu (a <details>), where the admin pages' links are."""
    page.get_by_role("navigation", name="Main").get_by_text("Admin", exact=True).click()


@pytest.fixture
def login():
    """`login(page, email, password=PASSWORD, succeeds=True)`: log in through the UI."""
    return log_in
