"""Helpers for complaint workflow tests: register a case, act on its tasks.

A test runs its cases inside `complaint_worker`, which starts the
application's worker on a fresh task queue and, on the way out, terminates any
case workflow the test left running: the time-skipping server is shared by
the whole session, and a leftover workflow's timers would move the clock for
the tests that follow.
"""

import asyncio
import base64
import itertools
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.calendar import WorkingCalendar
from domain.deadlines import SHANGHAI
from store.calendars import load_calendar
from store.cases import ComplaintRegistration, case_by_ref, register_complaint
from store.db import Database
from store.models import (
    Case,
    CaseEvent,
    CaseSequence,
    Compound,
    Deadline,
    DeadlineChange,
    Organisation,
    Task,
    TaskEscalation,
    TaskStatus,
)
from tests.conftest import user_id
from tests.workflows.conftest import mail_settings, new_worker
from workflows.complaint import ComplaintInput, ComplaintResult, ComplaintWorkflow
from workflows.human_tasks import CompleteTaskInput, CompleteTaskResult

ComplaintHandle = WorkflowHandle[ComplaintWorkflow, ComplaintResult]
_T = TypeVar("_T")

COMPLAINANT_NAME = "张三"
COMPLAINANT_PHONE = "13812345678"

HISTORIES = Path(__file__).parent / "histories"
RECORD_HISTORIES = "WUYE_RECORD_HISTORIES"

# Every test copies the same seeded database, so each test's first case would
# be TS-2026-000001 and the workflow ids would meet in the shared test server.
# Each database numbers its cases from a block of its own instead.
_NUMBER_BLOCKS = itertools.count(1)


def _reserve_numbers(database: Database) -> None:
    with database.write() as session:
        if session.get(CaseSequence, ("TS", 2026)) is None:
            block = next(_NUMBER_BLOCKS) * 1000
            session.add(CaseSequence(prefix="TS", year=2026, last=block))


def register(
    database: Database, *, category: str = "lifts", key: str | None = None
) -> Case:
    """Register a complaint about 和平花园 at 和平街道 as 王 would."""
    _reserve_numbers(database)
    with database.write() as session:
        street = session.exec(
            select(Organisation).where(Organisation.code == "S1")
        ).one()
        compound = session.exec(select(Compound).where(Compound.code == "XQ-001")).one()
        case = register_complaint(
            session,
            ComplaintRegistration(
                organisation_id=street.id or 0,
                channel="phone",
                category=category,
                facts="电梯停运一周",
                clues="3号楼1单元",
                company_id=compound.company_id,
                compound_id=compound.id,
                complainant_name=COMPLAINANT_NAME,
                complainant_phone=COMPLAINANT_PHONE,
                idempotency_key=key,
                registered_by=user_id(database, "wang"),
            ),
            year=2026,
        )
        return case


async def start(
    client: Client, task_queue: str, case: Case, registered_on: date
) -> ComplaintHandle:
    return await client.start_workflow(
        ComplaintWorkflow.run,
        ComplaintInput(
            case_ref=case.ref,
            case_id=case.id or 0,
            organisation_id=case.organisation_id,
            registered_on=registered_on.isoformat(),
        ),
        id=case.ref,
        task_queue=task_queue,
    )


def open_tasks(database: Database, case_ref: str) -> list[Task]:
    with database.read() as session:
        return list(
            session.exec(
                select(Task)
                .where(
                    Task.case_ref == case_ref,
                    col(Task.status).in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
                )
                .order_by(col(Task.created_at))
            )
        )


async def complete(
    handle: ComplaintHandle,
    task_id: str,
    actor_id: int,
    outcome: str | None = None,
    **record: str,
) -> CompleteTaskResult:
    return await handle.execute_update(
        ComplaintWorkflow.complete_task,
        CompleteTaskInput(
            task_id=task_id, actor_id=actor_id, outcome=outcome, record=record
        ),
    )


# -- waiting -------------------------------------------------------------------


# Real seconds to wait for the worker; the virtual clock does not move meanwhile.
PATIENCE = 15.0


async def eventually(probe: Callable[[], _T | None], *, what: str = "it") -> _T:
    """Poll `probe` in real time (the virtual clock stays put) until truthy."""
    try:
        async with asyncio.timeout(PATIENCE):
            while True:
                if found := probe():
                    return found
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def next_task(database: Database, case_ref: str, step: str) -> Task:
    """The open task of `step` once the workflow has opened it."""

    def probe() -> Task | None:
        found = [t for t in open_tasks(database, case_ref) if t.step == step]
        return found[0] if found else None

    return await eventually(probe, what=f"an open {step} task of {case_ref}")


async def now(env: WorkflowEnvironment) -> datetime:
    """The test server's clock in Asia/Shanghai."""
    return (await env.get_current_time()).astimezone(SHANGHAI)


async def today(env: WorkflowEnvironment) -> date:
    return (await now(env)).date()


async def sleep_until(env: WorkflowEnvironment, instant: datetime) -> None:
    """Move the test server's clock to `instant`, firing the timers before it."""
    delta = instant - await env.get_current_time()
    if delta > timedelta(0):
        await env.sleep(delta)


async def result_of(env: WorkflowEnvironment, handle: WorkflowHandle[Any, _T]) -> _T:
    """The workflow's result, without letting the test server skip time.

    Awaiting `handle.result()` unlocks time skipping, and the test server then
    jumps to its next timer whenever nothing runs for a moment: an activity's
    timeout, another case's escalation rung, or (once the workflow is done)
    the ten-year execution timeout it keeps for every run. The cases here end
    without any timer, so their result needs no skipping.
    """
    with env.auto_time_skipping_disabled():
        return await handle.result()


async def activity_completions(handle: WorkflowHandle[Any, Any], name: str) -> int:
    """How many times the workflow's history shows activity `name` completed."""
    scheduled: set[int] = set()
    completed = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == name:
                scheduled.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes_done = event.activity_task_completed_event_attributes
            if attributes_done.scheduled_event_id in scheduled:
                completed += 1
    return completed


async def wait_for_activity(
    handle: WorkflowHandle[Any, Any], name: str, count: int
) -> None:
    """Wait until activity `name` has completed `count` times in the workflow."""
    try:
        async with asyncio.timeout(PATIENCE):
            while True:
                if await activity_completions(handle, name) >= count:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {count} x {name}") from None


# -- the read model as a caseworker sees it ------------------------------------


@dataclass(frozen=True)
class Event:
    kind: str
    actor_id: int | None
    details: dict[str, str]


def case_row(database: Database, case_ref: str) -> Case:
    with database.read() as session:
        case = case_by_ref(session, case_ref)
        session.expunge(case)
        return case


def timeline(database: Database, case_ref: str) -> list[Event]:
    """The case's timeline, oldest first."""
    with database.read() as session:
        case = case_by_ref(session, case_ref)
        rows = session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(col(CaseEvent.id))
        ).all()
        return [Event(r.kind, r.actor_id, json.loads(r.details)) for r in rows]


def kinds(database: Database, case_ref: str) -> list[str]:
    return [event.kind for event in timeline(database, case_ref)]


def tasks_of(database: Database, case_ref: str) -> list[Task]:
    """Every task of the case, open or not, in the order they were opened."""
    with database.read() as session:
        return list(
            session.exec(
                select(Task)
                .where(Task.case_ref == case_ref)
                .order_by(col(Task.created_at), col(Task.id))
            )
        )


def deadline(database: Database, key: str) -> Deadline:
    with database.read() as session:
        row = session.exec(select(Deadline).where(Deadline.key == key)).one()
        session.expunge(row)
        return row


def deadline_changes(
    database: Database, deadline_id: int | None
) -> list[DeadlineChange]:
    with database.read() as session:
        return list(
            session.exec(
                select(DeadlineChange)
                .where(DeadlineChange.deadline_id == deadline_id)
                .order_by(col(DeadlineChange.id))
            )
        )


def escalations(database: Database, task_id: str) -> list[TaskEscalation]:
    with database.read() as session:
        return list(
            session.exec(
                select(TaskEscalation)
                .where(TaskEscalation.task_id == task_id)
                .order_by(col(TaskEscalation.id))
            )
        )


def task_row(database: Database, task_id: str) -> Task:
    with database.read() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def calendar(database: Database) -> WorkingCalendar:
    with database.read() as session:
        return load_calendar(session)


def organisation_id(database: Database, code: str) -> int:
    with database.read() as session:
        organisation = session.exec(
            select(Organisation).where(Organisation.code == code)
        ).one()
        assert organisation.id is not None
        return organisation.id


def mails(folder: Path) -> list[EmailMessage]:
    """The messages the SMTP sink received, oldest first."""
    if not folder.exists():
        return []
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# -- a worker for the test's cases ----------------------------------------------


@dataclass
class Complaints:
    """The cases of one test, on one worker."""

    env: WorkflowEnvironment
    database: Database
    task_queue: str
    mail_folder: Path
    handles: list[ComplaintHandle] = field(default_factory=list)

    def user(self, username: str) -> int:
        return user_id(self.database, username)

    async def start(self, case: Case, registered_on: date) -> ComplaintHandle:
        handle = await start(self.env.client, self.task_queue, case, registered_on)
        self.handles.append(handle)
        return handle

    async def task(self, case_ref: str, step: str) -> Task:
        return await next_task(self.database, case_ref, step)

    async def finish(self, handle: ComplaintHandle) -> ComplaintResult:
        """Complete each remaining step as 王 (handling it directly); the result."""
        wang = self.user("wang")
        while tasks := open_tasks(self.database, handle.id):
            outcome = "handle" if tasks[0].step == "accept" else None
            await complete(handle, tasks[0].id, wang, outcome)
        return await result_of(self.env, handle)


async def terminate_running(handles: list[ComplaintHandle]) -> None:
    for handle in handles:
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate(reason="test over")


@asynccontextmanager
async def complaint_worker(
    env: WorkflowEnvironment, database: Database, sink: tuple[str, int, Path]
) -> AsyncIterator[Complaints]:
    """The application's worker on a fresh queue, mailing to the SMTP sink."""
    host, port, folder = sink
    async with new_worker(env.client, mail_settings(host, port), database) as queue:
        complaints = Complaints(env, database, queue, folder)
        try:
            yield complaints
        finally:
            await terminate_running(complaints.handles)


def readable_history(history_json: str) -> str:
    """A history's JSON with every payload decoded, as a person would read it.

    Payloads are base64 in the JSON and their own JSON escapes non-ASCII
    text, so a plain search of the file would never find "张三" even if it
    were there.
    """

    def decode(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) >= {"metadata", "data"} and isinstance(node["data"], str):
                raw = base64.b64decode(node["data"]).decode("utf-8", "replace")
                try:
                    return json.loads(raw)
                except ValueError:
                    return raw
            return {key: decode(value) for key, value in node.items()}
        if isinstance(node, list):
            return [decode(value) for value in node]
        return node

    return json.dumps(decode(json.loads(history_json)), ensure_ascii=False)


async def save_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """Keep the run's history for the replay tests, when asked to.

    `WUYE_RECORD_HISTORIES=1 pytest tests/workflows` rewrites the committed
    histories; an ordinary run leaves them alone.
    """
    if os.environ.get(RECORD_HISTORIES) != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
