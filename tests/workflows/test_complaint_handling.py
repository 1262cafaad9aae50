"""Handling within 60 days (art. 80): extensions and collective deliberation."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.complaints import HANDLING
from domain.deadlines import end_of_day
from store.db import Database
from store.models import Role
from tests.workflows.complaint_helpers import (
    ComplaintHandle,
    Complaints,
    calendar,
    case_row,
    complaint_worker,
    complete,
    deadline,
    deadline_changes,
    kinds,
    register,
    save_history,
    task_row,
    timeline,
    today,
    wait_for_activity,
)
from workflows.complaint import ComplaintWorkflow, DeliberationInput, ExtensionRequest

Sink = tuple[str, int, Path]


async def _accepted(complaints: Complaints) -> tuple[str, ComplaintHandle]:
    """A case accepted for direct handling, waiting for its investigation."""
    case = register(complaints.database)
    handle = await complaints.start(case, await today(complaints.env))
    accept = await complaints.task(case.ref, "accept")
    await complete(handle, accept.id, complaints.user("wang"), "handle")
    return case.ref, handle


async def _request(
    handle: ComplaintHandle, actor_id: int, days: int, reason: str = "需委托第三方检测"
) -> str:
    return await handle.execute_update(
        ComplaintWorkflow.request_extension,
        ExtensionRequest(actor_id=actor_id, days=days, reason=reason),
    )


def _refusal(error: WorkflowUpdateFailedError) -> str | None:
    assert isinstance(error.cause, ApplicationError)
    return error.cause.type


async def test_approve_extension_moves_the_handling_deadline(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang, li = complaints.user("wang"), complaints.user("li")
        ref, handle = await _accepted(complaints)
        investigate = await complaints.task(ref, "investigate")
        before = deadline(database, f"{ref}/handling")

        status = await _request(handle, wang, 20)
        approval = await complaints.task(ref, "approve_extension")
        await complete(handle, approval.id, li, "approve")
        # The open investigation's ladder is planned again on the new date.
        # (Waiting also keeps the next completion from cancelling that read
        # before it starts, which the test server mishandles.)
        await wait_for_activity(handle, "refresh_task", 1)
        after = deadline(database, f"{ref}/handling")
        moved_task = task_row(database, investigate.id)
        state = await handle.query(ComplaintWorkflow.state)
        await complaints.finish(handle)
        await save_history(handle, "extension_approved")

    accepted_on = case_row(database, ref).accepted_on
    assert accepted_on is not None
    work_calendar = calendar(database)
    assert status == "handling"
    # The head of the street office decides (art. 80): a supervisor task.
    assert approval.candidate_org_id == case_row(database, ref).organisation_id
    assert approval.candidate_role is Role.SUPERVISOR
    assert approval.deadline_id == before.id
    # 60 + 20 days from acceptance, rolled forward if it ends on a rest day.
    assert before.due_date == HANDLING.compute(accepted_on, work_calendar).due_date
    assert (
        after.due_date
        == HANDLING.compute(accepted_on, work_calendar, extra=20).due_date
    )
    assert after.amount == 80
    assert after.original_due_date == before.due_date
    (change,) = deadline_changes(database, after.id)
    assert (change.old_due_date, change.new_due_date) == (
        before.due_date,
        after.due_date,
    )
    assert "20" in change.reason and "需委托第三方检测" in change.reason
    assert moved_task.due_at == end_of_day(after.due_date)
    assert case_row(database, ref).extension_days == 20
    assert state.extension_days == 20 and not state.extension_pending
    (approved,) = [e for e in timeline(database, ref) if e.kind == "extension.approved"]
    assert approved.actor_id == li
    assert approved.details["old_due_date"] == before.due_date.isoformat()
    assert approved.details["new_due_date"] == after.due_date.isoformat()


async def test_request_extension_beyond_thirty_days_in_all_is_refused(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang, li = complaints.user("wang"), complaints.user("li")
        ref, handle = await _accepted(complaints)
        await _request(handle, wang, 20)
        first = await complaints.task(ref, "approve_extension")
        await complete(handle, first.id, li, "approve")
        await wait_for_activity(handle, "refresh_task", 1)
        extended = deadline(database, f"{ref}/handling")

        with pytest.raises(WorkflowUpdateFailedError) as too_long:
            await _request(handle, wang, 11)
        await _request(handle, wang, 10)
        second = await complaints.task(ref, "approve_extension")
        with pytest.raises(WorkflowUpdateFailedError) as pending:
            await _request(handle, wang, 5)
        await complete(handle, second.id, li, "refuse", reason="理由不充分")
        after_refusal = deadline(database, f"{ref}/handling")
        state = await handle.query(ComplaintWorkflow.state)
        await complaints.finish(handle)
        await save_history(handle, "extension_refused")

    assert _refusal(too_long.value) == "ExtensionTooLong"
    assert _refusal(pending.value) == "ExtensionPending"
    assert after_refusal.due_date == extended.due_date
    assert after_refusal.amount == 80
    assert len(deadline_changes(database, extended.id)) == 1
    assert case_row(database, ref).extension_days == 20
    assert state.extension_days == 20 and not state.extension_pending
    (refused,) = [e for e in timeline(database, ref) if e.kind == "extension.refused"]
    assert refused.actor_id == li and refused.details == {"reason": "理由不充分"}
    requested = [e for e in timeline(database, ref) if e.kind == "extension.requested"]
    assert [e.details["days"] for e in requested] == ["20", "10"]


async def test_request_extension_before_acceptance_is_refused(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        handle = await complaints.start(case, await today(env))
        await complaints.task(case.ref, "accept")

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await _request(handle, complaints.user("wang"), 10)

    assert _refusal(refused.value) == "NotHandling"
    assert "extension.requested" not in kinds(database, case.ref)


async def test_record_deliberation_keeps_the_clock_running(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    async with complaint_worker(env, database, smtp_sink) as complaints:
        li = complaints.user("li")
        ref, handle = await _accepted(complaints)
        investigate = await complaints.task(ref, "investigate")
        before = deadline(database, f"{ref}/handling")

        status = await handle.execute_update(
            ComplaintWorkflow.record_deliberation,
            DeliberationInput(actor_id=li, note="街道、社区与专家集体研判"),
        )
        after = deadline(database, f"{ref}/handling")
        await complaints.finish(handle)
        await save_history(handle, "deliberation")

    assert status == "handling"
    assert after.due_date == before.due_date and after.amount == 60
    assert deadline_changes(database, after.id) == []
    assert task_row(database, investigate.id).due_at == investigate.due_at
    (recorded,) = [
        e for e in timeline(database, ref) if e.kind == "deliberation.recorded"
    ]
    assert recorded.actor_id == li
    assert recorded.details == {"note": "街道、社区与专家集体研判"}
    assert case_row(database, ref).deliberation is True


async def test_record_deliberation_before_acceptance_is_refused(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        handle = await complaints.start(case, await today(env))
        await complaints.task(case.ref, "accept")

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ComplaintWorkflow.record_deliberation,
                DeliberationInput(actor_id=complaints.user("li"), note="研判"),
            )

    assert _refusal(refused.value) == "NotHandling"
    assert "deliberation.recorded" not in kinds(database, case.ref)
