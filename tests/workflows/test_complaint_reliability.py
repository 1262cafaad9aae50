"""Each step once: racing completions, a worker restart, activity retries.

And the personal data of the complainant never reaches Temporal.
"""

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from activities.complaints import ComplaintActivities
from activities.mail import Mailer
from activities.tasks import TaskActivities
from domain.complaints import ACCEPTANCE
from store import audit
from store.db import Database
from store.models import AuditEvent, Deadline, Notification, Task, TaskStatus
from tests.conftest import user_id
from tests.workflows.complaint_helpers import (
    COMPLAINANT_NAME,
    COMPLAINANT_PHONE,
    case_row,
    complaint_worker,
    complete,
    escalations,
    mails,
    next_task,
    open_tasks,
    readable_history,
    register,
    result_of,
    save_history,
    start,
    tasks_of,
    terminate_running,
    timeline,
    today,
)
from tests.workflows.conftest import mail_settings
from workflows.complaint import CaseRecordInput, ComplaintWorkflow
from workflows.human_tasks import (
    CloseTaskInput,
    DeadlineRequest,
    FireRungInput,
    FireRungResult,
    OpenTaskInput,
)
from wuye.settings import Settings
from wuye.worker import build_worker

Sink = tuple[str, int, Path]


async def test_complete_task_twice_at_once_completes_it_once(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang, sun = complaints.user("wang"), complaints.user("sun")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")

        outcomes = await asyncio.gather(
            complete(handle, accept.id, wang, "handle"),
            complete(handle, accept.id, sun, "not_accepted", reason="repeat_open"),
            return_exceptions=True,
        )
        state = await handle.query(ComplaintWorkflow.state)
        await save_history(handle, "completed_twice_at_once")

    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1, outcomes
    (failure,) = failures
    assert isinstance(failure, WorkflowUpdateFailedError)
    assert isinstance(failure.cause, ApplicationError)
    assert failure.cause.type == "TaskNotOpen"
    completed = [
        e
        for e in timeline(database, case.ref)
        if e.kind == "task.completed" and e.details["task_id"] == accept.id
    ]
    assert len(completed) == 1
    row = next(t for t in tasks_of(database, case.ref) if t.id == accept.id)
    assert row.status is TaskStatus.COMPLETED
    assert (row.completed_by, row.outcome) == (
        completed[0].actor_id,
        completed[0].details["outcome"],
    )
    decided = [
        e for e in timeline(database, case.ref) if e.kind == "acceptance.decided"
    ]
    assert len(decided) == 1
    # The winner's decision is the one the case follows.
    assert (state.status == "handling") == (row.outcome == "handle")


def _application_worker(
    client: Client,
    settings: Settings,
    database: Database,
    task_queue: str,
    *,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    """The application's worker without a workflow cache, optionally intercepted.

    A worker that caches a workflow asks the server for its next tasks on a
    sticky queue of its own. A real server notices within seconds that nobody
    polls that queue any more; the time-skipping test server never moves an
    Update's task off it, so a case would wait forever for a worker that has
    stopped. Without a cache there is no sticky queue, and a restart is what
    production sees.
    """
    # The configuration of build_worker, read from a worker that never runs.
    config = build_worker(client, settings, database, f"{task_queue}-cfg").config()
    config["task_queue"] = task_queue
    config["max_cached_workflows"] = 0
    config["interceptors"] = interceptors
    return Worker(**config)


class _HoldOpenTask(Interceptor):
    """Keeps open_task's result from the workflow until `release` is set.

    The task's row is committed meanwhile, as when a worker is slow to run
    the workflow after the activity: the inbox already lists the task.
    """

    def __init__(self) -> None:
        self.release = asyncio.Event()

    def intercept_activity(
        self, next: ActivityInboundInterceptor
    ) -> ActivityInboundInterceptor:
        release = self.release

        class Hold(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                result = await super().execute_activity(input)
                if activity.info().activity_type == "open_task":
                    await release.wait()
                return result

        return Hold(next)


async def test_restart_worker_mid_case_does_every_step_once(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    host, port, _ = smtp_sink
    settings = mail_settings(host, port)
    case = register(database)
    wang = user_id(database, "wang")
    queue = f"test-restart-{uuid.uuid4()}"
    handles = []
    try:
        async with _application_worker(env.client, settings, database, queue):
            handle = await start(env.client, queue, case, await today(env))
            handles.append(handle)
            accept = await next_task(database, case.ref, "accept")
            await complete(handle, accept.id, wang, "handle")
            await next_task(database, case.ref, "investigate")

        # Worker A is gone; worker B takes over the same queue.
        async with build_worker(env.client, settings, database, queue):
            while tasks := open_tasks(database, case.ref):
                await complete(handle, tasks[0].id, wang)
            result = await result_of(env, handle)
            await save_history(handle, "worker_restarted")
    finally:
        await terminate_running(handles)

    assert result.status == "closed"
    assert [t.step for t in tasks_of(database, case.ref)] == [
        "accept",
        "investigate",
        "verify",
        "feedback",
        "archive",
    ]
    events = timeline(database, case.ref)
    per_task = Counter(
        (e.details["task_id"], e.kind) for e in events if "task_id" in e.details
    )
    assert per_task and max(per_task.values()) == 1, per_task
    case_kinds = Counter(e.kind for e in events if "task_id" not in e.details)
    assert case_kinds["handling.started"] == 1 and case_kinds["case.closed"] == 1
    assert case_kinds["acceptance.decided"] == 1
    with database.read() as session:
        chain = audit.verify_database(session)
    assert chain.intact, chain


async def test_complete_task_before_the_workflow_saw_it_opened_is_accepted(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    host, port, _ = smtp_sink
    case = register(database)
    wang = user_id(database, "wang")
    hold = _HoldOpenTask()
    worker = _application_worker(
        env.client,
        mail_settings(host, port),
        database,
        f"test-early-{uuid.uuid4()}",
        interceptors=[hold],
    )
    handles = []
    try:
        async with worker:
            handle = await start(env.client, worker.task_queue, case, await today(env))
            handles.append(handle)
            # Listed in the inbox while the workflow still waits for open_task.
            accept = await next_task(database, case.ref, "accept")
            early = asyncio.create_task(complete(handle, accept.id, wang, "handle"))
            await asyncio.sleep(0.5)
            answered_early = early.done()
            hold.release.set()
            completed = await early
            investigate = await next_task(database, case.ref, "investigate")
    finally:
        hold.release.set()
        await terminate_running(handles)

    # The Update waits for the workflow to act on it, then it is accepted.
    assert not answered_early
    assert completed.status == "handling"
    assert completed.open_tasks == [investigate.id]
    accepted = next(t for t in tasks_of(database, case.ref) if t.id == accept.id)
    assert accepted.status is TaskStatus.COMPLETED and accepted.outcome == "handle"
    # Its ladder never started: nothing fired for it.
    assert escalations(database, accept.id) == []


async def test_fetch_history_of_a_closed_case_finds_no_personal_data(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")
        await complete(handle, accept.id, wang, "handle")
        for step in ("investigate", "verify", "feedback", "archive"):
            task = await complaints.task(case.ref, step)
            await complete(handle, task.id, wang, None, summary="已电话告知处理结果")
        await result_of(env, handle)
        history = await handle.fetch_history()

    text = readable_history(history.to_json())
    # The check reads the decoded payloads: the record typed for it is there.
    assert case.ref in text and "已电话告知处理结果" in text
    assert COMPLAINANT_NAME not in text
    assert COMPLAINANT_PHONE not in text


# -- activities run twice (a retry after a lost reply) write once ---------------


def _activity_environment(at: datetime) -> ActivityEnvironment:
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(
        environment.info, current_attempt_scheduled_time=at
    )
    return environment


def _accept_request(case_ref: str, organisation_id: int, start: str) -> OpenTaskInput:
    return OpenTaskInput(
        task_id=f"{case_ref}/accept/1",
        case_ref=case_ref,
        procedure="complaint",
        step="accept",
        candidate_org_id=organisation_id,
        candidate_role="caseworker",
        deadline=DeadlineRequest(
            key=f"{case_ref}/acceptance/1",
            kind=ACCEPTANCE.kind.value,
            start=start,
            amount=ACCEPTANCE.amount,
            basis=ACCEPTANCE.basis,
            subject="acceptance",
        ),
    )


def _audit_count(database: Database, action: str, object_id: str) -> int:
    with database.read() as session:
        return session.exec(
            select(func.count()).where(
                AuditEvent.action == action, AuditEvent.object_id == object_id
            )
        ).one()


def _count(database: Database, model: type, *where: object) -> int:
    with database.read() as session:
        query = select(func.count()).select_from(model)
        return session.exec(query.where(*where)).one()  # type: ignore[arg-type]


async def test_open_task_twice_writes_one_task(
    database: Database, smtp_sink: Sink
) -> None:
    host, port, _ = smtp_sink
    case = register(database)
    activities = TaskActivities(database, Mailer(mail_settings(host, port)), "http://t")
    request = _accept_request(case.ref, case.organisation_id, "2026-09-24")
    environment = _activity_environment(datetime.now(UTC))

    first = await environment.run(activities.open_task, request)
    second = await environment.run(activities.open_task, request)

    assert first == second
    assert first.due_at is not None and len(first.rungs) == 4
    assert _count(database, Task, col(Task.case_ref) == case.ref) == 1
    assert _count(database, Deadline, col(Deadline.case_ref) == case.ref) == 1
    opened = [e for e in timeline(database, case.ref) if e.kind == "task.opened"]
    assert len(opened) == 1
    assert _audit_count(database, "task.opened", request.task_id) == 1


async def test_close_task_twice_records_one_completion(
    database: Database, smtp_sink: Sink
) -> None:
    host, port, _ = smtp_sink
    case = register(database)
    activities = TaskActivities(database, Mailer(mail_settings(host, port)), "http://t")
    request = _accept_request(case.ref, case.organisation_id, "2026-09-24")
    environment = _activity_environment(datetime.now(UTC))
    await environment.run(activities.open_task, request)
    wang = user_id(database, "wang")
    closing = CloseTaskInput(
        task_id=request.task_id, actor_id=wang, outcome="handle", record={}
    )

    await environment.run(activities.close_task, closing)
    await environment.run(activities.close_task, closing)

    (task,) = tasks_of(database, case.ref)
    assert task.status is TaskStatus.COMPLETED and task.version == 2
    assert task.completed_by == wang and task.outcome == "handle"
    completed = [e for e in timeline(database, case.ref) if e.kind == "task.completed"]
    assert len(completed) == 1
    assert _audit_count(database, "task.completed", request.task_id) == 1


async def test_record_case_twice_adds_one_event(database: Database) -> None:
    case = register(database)
    activities = ComplaintActivities(database)
    change = CaseRecordInput(
        case_ref=case.ref,
        event="case.held",
        dedupe_key=f"{case.ref}/7/case.held",
        actor_id=user_id(database, "wang"),
        status="held",
        held=True,
    )
    environment = ActivityEnvironment()

    await environment.run(activities.record_case, change)
    held_since = case_row(database, case.ref).held_since
    await environment.run(activities.record_case, change)

    held = case_row(database, case.ref)
    assert held.status == "held" and held.held_since == held_since
    assert [e.kind for e in timeline(database, case.ref)].count("case.held") == 1
    assert _audit_count(database, "case.case.held", case.ref) == 1


async def test_fire_rung_twice_records_and_mails_once(
    database: Database, smtp_sink: Sink
) -> None:
    host, port, folder = smtp_sink
    case = register(database)
    activities = TaskActivities(database, Mailer(mail_settings(host, port)), "http://t")
    request = _accept_request(case.ref, case.organisation_id, "2026-09-24")
    environment = _activity_environment(datetime(2026, 10, 9, 0, 0, tzinfo=UTC))
    await environment.run(activities.open_task, request)
    rung = FireRungInput(task_id=request.task_id, rung="reminder")

    first: FireRungResult = await environment.run(activities.fire_rung, rung)
    second: FireRungResult = await environment.run(activities.fire_rung, rung)

    assert first == FireRungResult(fired=True, notified=2)
    assert second == FireRungResult(fired=True, notified=0)
    assert [row.rung for row in escalations(database, request.task_id)] == ["reminder"]
    reminders = [e for e in timeline(database, case.ref) if e.kind == "task.reminder"]
    assert len(reminders) == 1
    prefix = f"task/{request.task_id}/reminder/"
    assert _count(database, Notification, col(Notification.key).startswith(prefix)) == 2
    sent = sorted(str(mail["To"]) for mail in mails(folder))
    assert sent == ["sun@example.org", "wang@example.org"]
    # 10/9 (Beijing 08:00) with 10/9, 10/10 and 10/12 left until the due date.
    subjects = {str(mail["Subject"]) for mail in mails(folder)}
    assert subjects == {f"【物业治理】{case.ref} 还剩3个工作日：受理决定"}
