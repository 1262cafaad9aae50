"""王 and 李 work a complaint in a real Chromium, end to end (journeys.md).

The app runs under uvicorn in a thread; a time-skipping Temporal server, the
application's worker and an SMTP sink run on an event loop of their own in a
second thread, so that the workflow moves while the browser clicks. At the
end the test server's clock jumps past a deadline and the escalation mail
shows on the administrator's development mail page.
"""

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.deps import app_database, app_settings
from api.main import create_app
from api.temporal import TemporalConnection, get_task_queue, get_temporal
from store.db import Database
from store.models import Deadline, Task, TaskStatus
from tests.browser.test_roles import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    free_port,
    sign_in,
)
from tests.conftest import migrated, sqlite_url
from tests.workflows.conftest import installed_binary, mail_settings
from workflows.payloads import DATA_CONVERTER
from wuye.mailsink import start_sink
from wuye.settings import Settings
from wuye.worker import build_worker

pytestmark = pytest.mark.browser

_T = TypeVar("_T")
PATIENCE = 15.0


class Backend:
    """Temporal (time-skipping), the worker and an SMTP sink on their own loop."""

    def __init__(self, database: Database, mail_folder: Path) -> None:
        self.database = database
        self.mail_folder = mail_folder
        self.task_queue = f"journey-{uuid.uuid4()}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stopping: asyncio.Event | None = None
        self.serving: Future[None] | None = None

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on the backend's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def start(self) -> Settings:
        self.thread.start()
        port = free_port()
        self.sink = start_sink(self.mail_folder, "127.0.0.1", port)
        self.settings = mail_settings("127.0.0.1", port, self.mail_folder)
        self.env = self.run(
            WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=installed_binary("temporal-test-server"),
                data_converter=DATA_CONVERTER,
            )
        )
        ready: Future[None] = Future()
        self.serving = asyncio.run_coroutine_threadsafe(self._serve(ready), self.loop)
        ready.result(30)
        return self.settings

    async def _serve(self, ready: Future[None]) -> None:
        self.stopping = asyncio.Event()
        worker = build_worker(
            self.env.client, self.settings, self.database, self.task_queue
        )
        async with worker:
            ready.set_result(None)
            await self.stopping.wait()

    @property
    def target(self) -> str:
        return self.env.client.service_client.config.target_host

    def sleep_until(self, instant: datetime) -> None:
        """Move the test server's clock to `instant`, firing timers on the way."""

        async def skip() -> None:
            delta = instant - await self.env.get_current_time()
            if delta > timedelta(0):
                await self.env.sleep(delta)

        self.run(skip())

    def stop(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        if self.serving is not None:
            self.serving.result(30)
        self.run(self.env.shutdown())
        self.sink.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The app on a free port, bound to a fresh database and the backend."""
    database = migrated(sqlite_url())
    backend = Backend(database, tmp_path_factory.mktemp("journey") / "mail")
    settings = backend.start()

    async def connect() -> Client:
        # Made on uvicorn's loop: a client belongs to the loop it was made on.
        return await Client.connect(backend.target, data_converter=DATA_CONVERTER)

    app = create_app()
    connection = TemporalConnection(connect)
    app.dependency_overrides[app_database] = lambda: database
    app.dependency_overrides[get_temporal] = lambda: connection
    app.dependency_overrides[get_task_queue] = lambda: backend.task_queue
    app.dependency_overrides[app_settings] = lambda: settings
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
    try:
        yield f"http://127.0.0.1:{port}", backend
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        backend.stop()
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install chromium`"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def person(browser: Browser, base_url: str, username: str) -> Page:
    """A tab of its own (own cookies) signed in as `username`, in Chinese."""
    context = browser.new_context(
        base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, username)
    return page


def reload_until_visible(page: Page, locator: Locator) -> None:
    """Reload until the workflow has opened what `locator` finds."""
    give_up = time.monotonic() + PATIENCE
    while not locator.first.is_visible():
        assert time.monotonic() < give_up, f"never appeared: {locator}"
        time.sleep(0.2)
        page.reload()


def work_step(page: Page, step: str, note: str) -> None:
    """Write the record of the open step on the case page and complete it.

    A step from the office's queue is claimed first; one that opened in the
    caseworker's own hands (she carries the case) has its form open.
    """
    task = page.locator("article.task", has=page.get_by_role("heading", name=step))
    claim = task.get_by_role("button", name="认领")
    record = task.locator("textarea[name=note]")
    reload_until_visible(page, claim.or_(record))
    if claim.is_visible():
        claim.click()
    record.fill(note)
    with page.expect_navigation():
        task.get_by_role("button", name=re.compile("完成此环节|归档")).click()


def register(page: Page, facts: str, repeat_of: str | None = None) -> str:
    """Register a lift complaint through the form; the new case number."""
    page.get_by_role("link", name="登记投诉").first.click()
    page.get_by_label("来源渠道").select_option(label="电话")
    page.get_by_label("姓名").fill("张三")
    page.get_by_label("电话", exact=True).fill("13812345678")
    page.get_by_label("小区").select_option(label="和平花园 · 安居物业服务有限公司")
    page.get_by_label("类别").select_option(label="电梯")
    if repeat_of:
        # The form warns of the open complaint about the same lift (art. 78).
        expect(page.locator("#repeats")).to_contain_text(repeat_of)
        page.screenshot(path=SCREENSHOTS / "journey-register.png", full_page=True)
    page.get_by_label("投诉事实").fill(facts)
    page.get_by_label("线索").fill("3号楼1单元")
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("投诉已登记")
    heading = page.get_by_role("heading", level=1).inner_text()
    found = re.search(r"TS-\d{4}-\d{6}", heading)
    assert found is not None, heading
    return found.group()


def handling_deadline(database: Database, ref: str) -> Deadline:
    with database.read() as session:
        row = session.exec(
            select(Deadline).where(Deadline.key == f"{ref}/handling")
        ).one()
        session.expunge(row)
        return row


def open_accept_task(database: Database, ref: str) -> Task:
    give_up = time.monotonic() + PATIENCE
    while True:
        with database.read() as session:
            task = session.exec(
                select(Task).where(
                    Task.case_ref == ref,
                    Task.step == "accept",
                    col(Task.status) == TaskStatus.OPEN,
                )
            ).first()
            if task is not None and task.deadline_id is not None:
                deadline = session.get(Deadline, task.deadline_id)
                assert deadline is not None
                session.expunge(task)
                return task
        assert time.monotonic() < give_up, f"no acceptance task on {ref}"
        time.sleep(0.1)


def test_complaint_from_registration_to_archive_and_escalation(
    browser: Browser, journey: tuple[str, Backend]
) -> None:
    base_url, backend = journey
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wang = person(browser, base_url, "wang")

    # 王 registers the phone call; the case number and the acceptance
    # deadline, with how it was counted, appear at once.
    ref = register(wang, "3号楼电梯停运一周，老人无法下楼")
    acceptance = wang.locator("#acceptance")
    expect(acceptance).to_contain_text("7个工作日 · 《工作指引》第76条")
    expect(acceptance.locator(".explanation")).to_contain_text("工作日")
    expect(wang.locator("#parties")).to_contain_text("138****5678")
    wang.screenshot(path=SCREENSHOTS / "journey-registered.png", full_page=True)

    # She accepts it for handling, declaring she has no conflict (art. 79).
    task = wang.locator("article.task").first
    reload_until_visible(wang, wang.get_by_role("button", name="认领"))
    wang.get_by_role("button", name="认领").click()
    wang.get_by_label("直接办理").check()
    wang.get_by_label(re.compile("我声明与当事人无利害关系")).check()
    wang.get_by_role("button", name="提交受理决定").click()
    expect(wang.locator(".status")).to_have_text("办理中")
    task = wang.locator("article.task").first
    expect(task).to_contain_text("调查")

    # The investigation will take longer than 60 days: 20 more, with a reason.
    extension = wang.locator("form[action$='/extension']")
    extension.get_by_label("天数").fill("20")
    extension.get_by_label("理由").fill("需委托第三方检测电梯，检测周期较长")
    extension.get_by_role("button", name="申请延期").click()
    expect(wang.locator("#tasks")).to_contain_text("延期审批")
    # Having accepted the case, she carries it: the investigation is hers
    # already, its form open, with nothing to claim.
    investigation = wang.locator(
        "article.task", has=wang.get_by_role("heading", name="调查")
    )
    expect(investigation.locator("textarea[name=note]")).to_be_visible()
    expect(investigation.get_by_role("button", name="认领")).to_have_count(0)

    # Another call about the same lift; nobody will decide it in time.
    late = register(wang, "另一部电梯也停运了", repeat_of=ref)
    wang.goto("/")
    reload_until_visible(wang, wang.locator("#inbox").get_by_role("link", name=late))
    wang.screenshot(path=SCREENSHOTS / "journey-inbox.png", full_page=True)

    # 李 approves from her dashboard in one click.
    li = person(browser, base_url, "li")
    approvals = li.locator("#approvals")
    expect(approvals).to_contain_text(ref)
    expect(approvals).to_contain_text("需委托第三方检测电梯")
    li.screenshot(path=SCREENSHOTS / "journey-supervisor.png", full_page=True)
    approvals.get_by_role("button", name="批准").click()
    expect(li.locator("#approvals")).to_have_count(0)

    # 王 sees the original and the extended handling deadline.
    extended = handling_deadline(backend.database, ref)
    assert extended.due_date > extended.original_due_date
    wang.goto(f"/cases/{ref}")
    handling = wang.locator("#deadlines tr", has_text="办理")
    expect(handling).to_contain_text(extended.due_date.isoformat())
    expect(handling).to_contain_text(extended.original_due_date.isoformat())
    expect(handling).to_contain_text("《工作指引》第80条")
    expect(wang.locator("#timeline")).to_contain_text("批准延期")
    wang.screenshot(path=SCREENSHOTS / "journey-case.png", full_page=True)

    # She closes the loop: investigation, verification, feedback, archive.
    work_step(wang, "调查", "委托检测，确认曳引机故障，已督促企业更换")
    work_step(wang, "核实", "回访现场，电梯已恢复运行")
    work_step(wang, "结果反馈", "电话告知投诉人处理结果，投诉人满意")
    work_step(wang, "归档", "")
    expect(wang.locator(".status")).to_have_text("已办结")

    # Once the second complaint's 7 working days have passed, the supervisor
    # is told by mail (the escalation ladder).
    accept = open_accept_task(backend.database, late)
    assert accept.due_at is not None
    backend.sleep_until(accept.due_at + timedelta(minutes=5))
    admin = person(browser, base_url, "admin")
    give_up = time.monotonic() + PATIENCE
    while f"已逾期：{late}" not in admin.locator("main").inner_text():
        assert time.monotonic() < give_up, "no overdue mail arrived"
        time.sleep(0.3)
        admin.goto("/dev/mail")
    expect(admin.locator("main")).to_contain_text("李红")


def test_resident_submits_complaint_on_the_website(
    browser: Browser, journey: tuple[str, Backend]
) -> None:
    base_url, _backend = journey
    context = browser.new_context(base_url=base_url, locale="zh-CN")
    resident = context.new_page()

    resident.goto("/")
    resident.get_by_role("link", name="投诉举报").click()
    resident.get_by_label("姓名").fill("李四")
    resident.get_by_label("电话").fill("13900001111")
    resident.get_by_label("小区").select_option(
        label="翠湖小区 · 宜家园物业管理有限公司"
    )
    resident.get_by_label("类别").select_option(label="收费")
    resident.get_by_label("投诉事实").fill("物业费未按公示标准收取")
    resident.get_by_role("button", name="提交").click()

    expect(resident.get_by_role("status")).to_contain_text("您的投诉举报已收到")
    expect(resident.locator("strong.ref")).to_have_text(re.compile(r"TS-\d{4}-\d{6}"))
    expect(resident.locator("main")).not_to_contain_text("13900001111")
    resident.screenshot(path=SCREENSHOTS / "journey-public.png", full_page=True)
    context.close()
