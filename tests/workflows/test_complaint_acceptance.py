"""Deciding acceptance within 7 working days (art. 76-78), outcome by outcome."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.complaints import ACCEPTANCE, HANDLING, RejectionReason
from domain.deadlines import PeriodKind, compute_deadline, end_of_day
from store.db import Database
from store.models import DeadlineStatus, Role, TaskStatus, User
from tests.workflows.complaint_helpers import (
    calendar,
    case_row,
    complaint_worker,
    complete,
    deadline,
    kinds,
    organisation_id,
    register,
    result_of,
    save_history,
    tasks_of,
    timeline,
    today,
)
from workflows.complaint import AddCluesInput, ComplaintWorkflow

Sink = tuple[str, int, Path]


async def test_accept_complaint_for_direct_handling_sets_both_deadlines(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        handle = await complaints.start(case, date(2026, 9, 24))
        accept = await complaints.task(case.ref, "accept")

        await complete(handle, accept.id, wang, "handle")
        investigate = await complaints.task(case.ref, "investigate")
        handling_while_open = deadline(database, f"{case.ref}/handling")
        result = await complaints.finish(handle)
        await save_history(handle, "handled_directly")

    acceptance = deadline(database, f"{case.ref}/acceptance/1")
    # The worked example of procedures.md §1: 9/28 ... 10/12.
    assert acceptance.due_date == date(2026, 10, 12)
    assert acceptance.original_due_date == date(2026, 10, 12)
    assert (acceptance.kind, acceptance.amount, acceptance.basis) == (
        "working_days",
        7,
        "art. 76",
    )
    assert acceptance.status is DeadlineStatus.MET
    assert accept.due_at == end_of_day(date(2026, 10, 12))
    closed = case_row(database, case.ref)
    assert closed.accepted_on is not None
    # art. 80: 60 calendar days counted from the day after acceptance, rolled
    # forward to a working day (Civil Code art. 201, 203).
    expected = HANDLING.compute(closed.accepted_on, calendar(database))
    assert handling_while_open.start_date == closed.accepted_on
    assert handling_while_open.due_date == expected.due_date
    assert handling_while_open.due_date >= closed.accepted_on + timedelta(days=60)
    assert handling_while_open.status is DeadlineStatus.OPEN
    assert handling_while_open.basis == "art. 80"
    assert investigate.deadline_id == handling_while_open.id
    assert investigate.due_at == end_of_day(expected.due_date)
    handling = deadline(database, f"{case.ref}/handling")
    assert handling.status is DeadlineStatus.MET
    assert result.status == "closed" and result.outcome == "handle"
    assert closed.status == "closed" and closed.outcome == "handle"
    assert [t.step for t in tasks_of(database, case.ref)] == [
        "accept",
        "investigate",
        "verify",
        "feedback",
        "archive",
    ]
    assert "handling.started" in kinds(database, case.ref)


@pytest.mark.parametrize("reason", list(RejectionReason))
async def test_decide_complaint_not_accepted_closes_it_with_the_reason(
    env: WorkflowEnvironment,
    database: Database,
    smtp_sink: Sink,
    reason: RejectionReason,
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")

        await complete(handle, accept.id, wang, "not_accepted", reason=reason.value)
        result = await result_of(env, handle)
        if reason is RejectionReason.NOT_PROPERTY_BREACH:
            await save_history(handle, "not_accepted")

    closed = case_row(database, case.ref)
    assert result.status == "closed" and result.outcome == "not_accepted"
    assert closed.status == "closed" and closed.closed_at is not None
    assert closed.outcome == "not_accepted"
    assert closed.outcome_reason == reason.value
    (informed,) = [
        e for e in timeline(database, case.ref) if e.kind == "complainant.informed"
    ]
    assert informed.details == {"reason": reason.value}
    assert informed.actor_id == wang
    assert [t.step for t in tasks_of(database, case.ref)] == ["accept"]
    assert deadline(database, f"{case.ref}/acceptance/1").status is DeadlineStatus.MET


@pytest.mark.parametrize("record", [{}, {"reason": "not_a_reason_of_art_78"}])
async def test_decide_complaint_not_accepted_without_a_reason_is_refused(
    env: WorkflowEnvironment,
    database: Database,
    smtp_sink: Sink,
    record: dict[str, str],
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await complete(handle, accept.id, wang, "not_accepted", **record)
        state = await handle.query(ComplaintWorkflow.state)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "InvalidRecord"
    assert state.open_tasks == {accept.id: "accept"}
    (still_open,) = tasks_of(database, case.ref)
    assert still_open.status is TaskStatus.OPEN
    assert case_row(database, case.ref).status == "accepting"
    assert "task.completed" not in kinds(database, case.ref)


async def test_decide_complaint_for_discipline_inspection_closes_it(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")

        await complete(handle, accept.id, wang, "discipline")
        result = await result_of(env, handle)
        await save_history(handle, "discipline")

    closed = case_row(database, case.ref)
    assert result.outcome == "discipline"
    assert closed.status == "closed" and closed.outcome == "discipline"
    events = kinds(database, case.ref)
    assert events.index("acceptance.decided") < events.index("transferred.discipline")
    assert events.index("transferred.discipline") < events.index("case.closed")
    assert [t.step for t in tasks_of(database, case.ref)] == ["accept"]


def _add_planning_caseworker(database: Database, planning: int) -> int:
    with database.write() as session:
        planner = User(
            username="planner",
            display_name="规划局经办人",
            email="planner@example.org",
            password_hash="not-used",
            role=Role.CASEWORKER,
            organisation_id=planning,
        )
        session.add(planner)
        session.flush()
        assert planner.id is not None
        return planner.id


async def test_transfer_complaint_to_planning_waits_for_its_reply(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database, category="illegal_construction")
    planning = organisation_id(database, "D1-PLANNING")
    planner = _add_planning_caseworker(database, planning)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")

        await complete(handle, accept.id, wang, "transfer", agency_id=str(planning))
        reply = await complaints.task(case.ref, "transfer_reply")
        while_waiting = case_row(database, case.ref)
        await complete(handle, reply.id, planner, None, reply="已立案查处")
        feedback = await complaints.task(case.ref, "feedback")
        await complete(handle, feedback.id, wang)
        archive = await complaints.task(case.ref, "archive")
        await complete(handle, archive.id, wang)
        result = await result_of(env, handle)
        await save_history(handle, "transferred")

    assert (reply.candidate_org_id, reply.candidate_role) == (planning, Role.CASEWORKER)
    # The agency answers within its own time limits (art. 77).
    assert reply.deadline_id is None and reply.due_at is None
    assert while_waiting.status == "transferred"
    assert while_waiting.transferred_to == planning
    street = case.organisation_id
    assert feedback.candidate_org_id == street and archive.candidate_org_id == street
    # Back from the agency, the case returns to the caseworker who sent it.
    assert (feedback.assignee_id, feedback.status) == (wang, "claimed")
    assert reply.assignee_id is None
    assert result.status == "closed" and result.outcome == "transfer"
    closed = case_row(database, case.ref)
    assert closed.status == "closed" and closed.transferred_to == planning
    (transferred,) = [
        e for e in timeline(database, case.ref) if e.kind == "transferred"
    ]
    assert transferred.details == {"agency_id": str(planning)}
    (replied,) = [
        e
        for e in timeline(database, case.ref)
        if e.kind == "task.completed" and e.details["task_id"] == reply.id
    ]
    assert replied.actor_id == planner and replied.details["reply"] == "已立案查处"
    assert [t.step for t in tasks_of(database, case.ref)] == [
        "accept",
        "transfer_reply",
        "feedback",
        "archive",
    ]


@pytest.mark.parametrize("record", [{}, {"agency_id": "规划局"}])
async def test_transfer_complaint_without_an_agency_is_refused(
    env: WorkflowEnvironment,
    database: Database,
    smtp_sink: Sink,
    record: dict[str, str],
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await complete(handle, accept.id, wang, "transfer", **record)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "InvalidRecord"
    (still_open,) = tasks_of(database, case.ref)
    assert still_open.status is TaskStatus.OPEN
    assert case_row(database, case.ref).transferred_to is None


async def test_hold_complaint_stops_the_clock_until_new_clues_restart_it(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        registered_on = await today(env)
        handle = await complaints.start(case, registered_on)
        accept = await complaints.task(case.ref, "accept")

        await complete(handle, accept.id, wang, "hold")
        held = case_row(database, case.ref)
        held_tasks = [
            t for t in tasks_of(database, case.ref) if t.status is TaskStatus.OPEN
        ]
        first_deadline = deadline(database, f"{case.ref}/acceptance/1")
        state_while_held = await handle.query(ComplaintWorkflow.state)
        # The complainant comes back three days later with new clues.
        await env.sleep(timedelta(days=3))
        clue_day = await today(env)
        status = await handle.execute_update(
            ComplaintWorkflow.add_clues,
            AddCluesInput(actor_id=wang, received_on=clue_day.isoformat()),
        )
        second = await complaints.task(case.ref, "accept")
        reopened = case_row(database, case.ref)
        await complete(handle, second.id, wang, "handle")
        await complaints.finish(handle)
        await save_history(handle, "held_then_clues")

    assert held_tasks == [] and state_while_held.open_tasks == {}
    assert held.status == "held" and held.held_since is not None
    assert state_while_held.status == "held"
    assert first_deadline.status is not DeadlineStatus.OPEN
    assert status == "accepting"
    # A fresh 7 working days from the receipt of the clues (art. 76).
    fresh = deadline(database, f"{case.ref}/acceptance/2")
    expected = compute_deadline(
        PeriodKind.WORKING_DAYS, clue_day, ACCEPTANCE.amount, calendar(database)
    )
    assert fresh.start_date == clue_day
    assert fresh.due_date == fresh.original_due_date == expected.due_date
    assert fresh.due_date > first_deadline.due_date
    assert second.deadline_id == fresh.id and second.id != accept.id
    assert reopened.status == "accepting" and reopened.held_since is None
    (added,) = [e for e in timeline(database, case.ref) if e.kind == "clues.added"]
    assert added.details == {"received_on": clue_day.isoformat()}
    opened = [e for e in timeline(database, case.ref) if e.kind == "acceptance.opened"]
    assert [e.details["round"] for e in opened] == ["1", "2"]
    assert opened[1].details["clock_start"] == clue_day.isoformat()


async def test_add_clues_to_a_case_not_held_is_refused(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        wang = complaints.user("wang")
        day = await today(env)
        handle = await complaints.start(case, day)
        accept = await complaints.task(case.ref, "accept")

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ComplaintWorkflow.add_clues,
                AddCluesInput(actor_id=wang, received_on=day.isoformat()),
            )
        state = await handle.query(ComplaintWorkflow.state)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "NotHeld"
    assert state.open_tasks == {accept.id: "accept"}
    assert "clues.added" not in kinds(database, case.ref)
