"""Each role signs in through a real Chromium against the real app.

The app runs under uvicorn in a thread, bound to a freshly migrated and seeded
SQLite database; Playwright drives Debian's chromium package and never
downloads a browser of its own.
"""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.deps import app_database
from api.main import create_app
from tests.conftest import migrated, sqlite_url
from wuye.seed import DEMO_PASSWORD, USERS
from wuye.settings import VAR_DIR

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = VAR_DIR / "screenshots"
DISPLAY_NAMES = {user.username: user.display_name for user in USERS}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The real app served over HTTP on a free local port."""
    database = migrated(sqlite_url())
    app = create_app()
    app.dependency_overrides[app_database] = lambda: database
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start in 10 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install chromium`"
            " (the browser tests use the system browser, never a downloaded one)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh tab with no cookies, in a browser set to Chinese."""
    context = browser.new_context(base_url=base_url, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.mark.parametrize(
    ("username", "heading"),
    [
        ("admin", "系统管理"),
        ("wang", "我的工作"),
        ("li", "监督看板"),
        ("liu", "纠纷调解"),
        ("chen", "企业门户"),
    ],
)
def test_sign_in_and_out_each_role(page: Page, base_url: str, username, heading):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    sign_in(page, username)

    expect(page).to_have_url(f"{base_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("header .user")).to_contain_text(DISPLAY_NAMES[username])
    page.screenshot(path=SCREENSHOTS / f"{username}.png", full_page=True)

    page.get_by_role("button", name="退出").click()

    expect(page).to_have_url(f"{base_url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")


def test_switch_language_to_english(page: Page):
    sign_in(page, "wang")

    page.get_by_role("link", name="English").click()

    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")


def test_calculate_deadline_updates_result_in_place(page: Page):
    page.goto("/calendar")
    # A full page load would forget this; an htmx swap keeps it.
    page.evaluate("window.keptAcrossSwap = true")

    page.get_by_label("期间").select_option("working_days")
    page.get_by_label("起算日").fill("2026-09-24")
    page.get_by_label("数量").fill("7")
    page.get_by_role("button", name="计算").click()

    expect(page.locator("#calc-result strong")).to_have_text("2026-10-12")
    assert page.evaluate("window.keptAcrossSwap") is True
    assert page.url.endswith("/calendar")
