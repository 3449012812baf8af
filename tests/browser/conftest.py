"""The browser tests' harness: the real service on a local port, Debian's Chromium driven by Playwright,
and axe-core for accessibility.

``live_server`` serves the app with uvicorn in a thread on this test's embedded (SQLite) database, the
default a desk runs on; the test seeds it over HTTP like any client. Chromium is ``/usr/bin/chromium``
(installed by ``scripts/ensure_system_packages.sh``; Playwright's own browser download cannot work here).
Screenshots land in ``var/screenshots/`` for the closing notes and for a human to look at.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from api.app import create_app
from api.settings import Settings
from tests.api.factories import ADMIN, ADMIN_TOKEN, PAYMENT_SECRET

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
#: The WCAG 2.2 AA rule set of axe-core (every level up to AA, every version up to 2.2).
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = ViewportSize(width=390, height=844)
DESK = ViewportSize(width=1440, height=900)


@dataclass(frozen=True)
class LiveServer:
    """A running service: its base URL and an HTTP client that speaks for the admin."""

    base_url: str
    admin: httpx.Client

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(database_url: str, **settings: Any) -> Iterator[LiveServer]:
    """Run the app with uvicorn in a thread until the generator is closed (test defaults as in
    ``tests.api.factories.app_client``; ``settings`` override them)."""
    options: dict[str, Any] = {
        "admin_token": ADMIN_TOKEN,
        "payment_secret": PAYMENT_SECRET,
        "log_json": False,
        "transport": {"assign_at": "manual"},
        **settings,
    }
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(Settings(database_url=database_url, **options)), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base_url, headers=ADMIN, timeout=30) as admin:
        try:
            yield LiveServer(base_url, admin)
        finally:
            server.should_exit = True
            thread.join(timeout=15)


@pytest.fixture
def live_server(sqlite_database_url: str) -> Iterator[LiveServer]:
    """The service on this test's own embedded database, answering on a free local port."""
    yield from serve(sqlite_database_url)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (root in CI: no sandbox), one per test: Playwright's sync API keeps an event
    loop running in this thread while it is open, so a longer-lived one would break any later test on the
    same worker that calls ``asyncio.run`` (about a second per browser test)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make system-deps` (scripts/ensure_system_packages.sh)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (390 x 844, touch, Chinese locale) in its own browser context."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def desk_page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page in its own browser context (its own cookies)."""
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


def assert_accessible(page: Page, *, context: str = "") -> None:
    """Fail with the rule ids and the offending elements when axe-core finds a WCAG 2.2 AA violation."""
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA_TAGS}})
    if result.violations_count:
        where = f" on {context}" if context else ""
        raise AssertionError(f"axe-core WCAG 2.2 AA violations{where}:\n{result.generate_report()}")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``var/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
