"""The escalation ladder of a task (督办) on the test server's clock.

The ladder fires at 08:00 Beijing time on the reminder day and on the due
day, at 24:00 of the due day (overdue) and at 24:00 five working days later
(escalated). The test server starts at the real time, so the cases here are
registered on its current date and every instant is taken from the plan that
domain.escalation computes for it.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.calendar import YearSchedule, statutory_holidays
from domain.deadlines import end_of_day, next_working_day
from domain.escalation import PlannedRung, plan_escalation
from store.calendars import load_schedule
from store.db import Database
from store.models import Task
from tests.conftest import user_id
from tests.workflows.complaint_helpers import (
    COMPLAINANT_NAME,
    COMPLAINANT_PHONE,
    body,
    calendar,
    case_row,
    complaint_worker,
    complete,
    deadline,
    deadline_changes,
    escalations,
    eventually,
    mails,
    register,
    result_of,
    save_history,
    sleep_until,
    task_row,
    timeline,
    today,
    wait_for_activity,
)
from tests.workflows.conftest import installed_binary
from workflows.calendar_rollout import CalendarRolloutInput, CalendarRolloutWorkflow
from workflows.payloads import DATA_CONVERTER

Sink = tuple[str, int, Path]
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """This module's own time-skipping server, its clock at the real time.

    The session's server has moved on by decades when these tests run (every
    awaited workflow result lets it skip to a ten-year timeout), and calendar
    files stop at 2100; a fresh server starts where the published calendars
    are, which is where a ladder is worth checking.
    """
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    yield environment
    await environment.shutdown()


def _fired(database: Database, task_id: str) -> list[str]:
    return [row.rung for row in escalations(database, task_id)]


async def _fired_exactly(
    database: Database, task_id: str, rungs: Sequence[str]
) -> list[str]:
    """Wait until the rungs are recorded; every rung recorded so far."""
    await eventually(
        lambda: set(rungs) <= set(_fired(database, task_id)),
        what=f"rungs {rungs} of {task_id}",
    )
    return _fired(database, task_id)


def _mails_of(folder: Path, task_id: str, rung: str) -> list[tuple[str, str, str]]:
    """(recipient, subject, body) of the mails sent for one rung of a task."""
    prefix = f"task/{task_id}/{rung}/"
    return sorted(
        (str(mail["To"]), str(mail["Subject"]), body(mail))
        for mail in mails(folder)
        if str(mail["X-Wuye-Notification"]).startswith(prefix)
    )


async def test_escalate_unclaimed_acceptance_fires_each_rung_once(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    _, _, folder = smtp_sink
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")
        acceptance = deadline(database, f"{case.ref}/acceptance/1")
        plan = plan_escalation(
            acceptance.start_date, acceptance.due_date, 7, calendar(database)
        )

        fired_before: dict[str, list[str]] = {}
        fired_after: dict[str, list[str]] = {}
        for planned in plan:
            await sleep_until(env, planned.at - MINUTE)
            fired_before[planned.rung.value] = _fired(database, accept.id)
            await sleep_until(env, planned.at + MINUTE)
            fired_after[planned.rung.value] = await _fired_exactly(
                database, accept.id, [planned.rung.value]
            )
            # Its mails are out before the clock moves on.
            await wait_for_activity(handle, "fire_rung", len(fired_after))
        await complete(handle, accept.id, complaints.user("wang"), "handle")
        await complaints.task(case.ref, "investigate")
        await save_history(handle, "escalations_fired")

    order = ["reminder", "due_today", "overdue", "escalated"]
    assert [p.rung.value for p in plan] == order
    # Each rung fires at its own instant, not a minute before, and once.
    for index, rung in enumerate(order):
        assert fired_before[rung] == order[:index]
        assert fired_after[rung] == order[: index + 1]
    assert _fired(database, accept.id) == order
    # Unclaimed: the street's caseworkers, then its supervisor, then the
    # district above it.
    recipients = {
        "reminder": ["sun", "wang"],
        "due_today": ["sun", "wang"],
        "overdue": ["li"],
        "escalated": ["d1admin"],
    }
    notified = {row.rung: row.notified for row in escalations(database, accept.id)}
    for rung, usernames in recipients.items():
        sent = _mails_of(folder, accept.id, rung)
        assert [to for to, _, _ in sent] == [f"{u}@example.org" for u in usernames]
        for _, subject, text in sent:
            assert case.ref in subject and case.ref in text
            for personal in (COMPLAINANT_NAME, COMPLAINANT_PHONE):
                assert personal not in subject and personal not in text
        expected_ids = {user_id(database, username) for username in usernames}
        assert {int(i) for i in notified[rung].split(",")} == expected_ids, rung
    (_, reminder_subject, _), _ = _mails_of(folder, accept.id, "reminder")
    # 7 working days: reminded with two working days left, the day counted.
    assert "还剩2个工作日" in reminder_subject
    assert (
        acceptance.due_date.isoformat() in _mails_of(folder, accept.id, "overdue")[0][2]
    )
    events = [e for e in timeline(database, case.ref) if e.kind.startswith("task.")]
    assert [e.kind for e in events if e.details.get("task_id") == accept.id] == [
        "task.opened",
        "task.reminder",
        "task.due_today",
        "task.overdue",
        "task.escalated",
        "task.completed",
    ]


async def test_complete_claimed_task_after_its_reminder_stops_the_ladder(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    _, _, folder = smtp_sink
    case = register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        sun = complaints.user("sun")
        handle = await complaints.start(case, await today(env))
        accept = await complaints.task(case.ref, "accept")
        with database.write() as session:
            claimed = session.get(Task, accept.id)
            assert claimed is not None
            claimed.assignee_id = sun
            session.add(claimed)
        acceptance = deadline(database, f"{case.ref}/acceptance/1")
        reminder, *later = plan_escalation(
            acceptance.start_date, acceptance.due_date, 7, calendar(database)
        )

        await sleep_until(env, reminder.at + MINUTE)
        await _fired_exactly(database, accept.id, ["reminder"])
        await wait_for_activity(handle, "fire_rung", 1)
        await complete(handle, accept.id, sun, "handle")
        await complaints.task(case.ref, "investigate")
        await sleep_until(env, later[-1].at + timedelta(days=1))
        investigate = await complaints.task(case.ref, "investigate")

    assert _fired(database, accept.id) == ["reminder"]
    (reminded,) = _mails_of(folder, accept.id, "reminder")
    assert reminded[0] == "sun@example.org"
    assert [to for to, _, _ in _mails_of(folder, accept.id, "due_today")] == []
    assert task_row(database, accept.id).completed_by == sun
    # The handling deadline is 60 days away: its ladder has not started.
    assert escalations(database, investigate.id) == []


# -- a calendar change in the middle of a case ---------------------------------


def _unpublished_start(published: set[int], day: date) -> date:
    """A day to register on whose acceptance period lies in an unpublished year."""
    year = day.year
    if year in published or day > date(year, 12, 10):
        year += 1
        while year in published:
            year += 1
        return date(year, 1, 4)
    return day


def _fictional_schedule(year: int, extra: date) -> YearSchedule:
    """The statutory rest days of `year` and one more: not a real notice."""
    holidays = {**statutory_holidays(year), extra: "new_years_day"}
    return YearSchedule(
        year=year, holidays=holidays, workdays={}, source="test: fictional notice"
    )


def _instants(*plans: Sequence[PlannedRung]) -> list[datetime]:
    return sorted({planned.at for plan in plans for planned in plan})


async def test_load_calendar_mid_case_moves_the_deadline_and_the_ladder(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    case = register(database)
    before_load = calendar(database)
    registered_on = _unpublished_start(
        set(before_load.published_years()), await today(env)
    )
    extra_holiday = next_working_day(registered_on + timedelta(days=1), before_load)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        admin = complaints.user("admin")
        handle = await complaints.start(case, registered_on)
        accept = await complaints.task(case.ref, "accept")
        old = deadline(database, f"{case.ref}/acceptance/1")
        old_plan = plan_escalation(old.start_date, old.due_date, 7, before_load)

        with database.write() as session:
            loaded = load_schedule(
                session, _fictional_schedule(extra_holiday.year, extra_holiday), admin
            )
            version = loaded.version
        rollout = await env.client.start_workflow(
            CalendarRolloutWorkflow.run,
            CalendarRolloutInput(calendar_version=version),
            id=f"calendar-rollout-test-{uuid.uuid4()}",
            task_queue=complaints.task_queue,
        )
        # Waiting must not skip the clock to the case's escalation timers.
        signalled = await result_of(env, rollout)
        await save_history(rollout, "calendar_rollout")
        await wait_for_activity(handle, "refresh_task", 1)
        new = deadline(database, f"{case.ref}/acceptance/1")
        moved_task = task_row(database, accept.id)
        new_plan = plan_escalation(new.start_date, new.due_date, 7, calendar(database))
        due_today = next(p for p in new_plan if p.rung.value == "due_today")

        fired_at: dict[datetime, list[str]] = {}
        for instant in _instants(old_plan, new_plan):
            if instant > due_today.at:
                break
            await sleep_until(env, instant + MINUTE)
            expected = [p.rung.value for p in new_plan if p.at <= instant]
            fired_at[instant] = await _fired_exactly(database, accept.id, expected)
            await wait_for_activity(handle, "fire_rung", len(expected))
        await complaints.finish(handle)
        await save_history(handle, "calendar_changed")

    assert extra_holiday.year == registered_on.year
    assert old.start_date < extra_holiday <= old.due_date and old.provisional
    assert signalled == 1
    assert new.due_date == next_working_day(
        old.due_date + timedelta(days=1), calendar(database)
    )
    assert new.original_due_date == old.due_date and not new.provisional
    (change,) = deadline_changes(database, new.id)
    assert (change.old_due_date, change.new_due_date) == (old.due_date, new.due_date)
    (moved,) = [e for e in timeline(database, case.ref) if e.kind == "deadline.moved"]
    assert moved.details["old_due_date"] == old.due_date.isoformat()
    assert moved.details["new_due_date"] == new.due_date.isoformat()
    assert moved_task.due_at == end_of_day(new.due_date)
    # At every instant of either plan, the rungs fired are the new plan's.
    assert [p.at for p in old_plan] != [p.at for p in new_plan]
    for instant, fired in fired_at.items():
        assert fired == [p.rung.value for p in new_plan if p.at <= instant], instant
    assert case_row(database, case.ref).status == "closed"


async def test_roll_out_calendar_skips_a_case_whose_workflow_has_ended(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    ended, running = register(database), register(database)
    async with complaint_worker(env, database, smtp_sink) as complaints:
        day = await today(env)
        ended_handle = await complaints.start(ended, day)
        await complaints.task(ended.ref, "accept")
        # An operator ended the run; the read model still lists the case open.
        await ended_handle.terminate(reason="test: ended outside the procedure")
        handle = await complaints.start(running, day)
        await complaints.task(running.ref, "accept")

        rollout = await env.client.start_workflow(
            CalendarRolloutWorkflow.run,
            CalendarRolloutInput(calendar_version=calendar(database).version),
            id=f"calendar-rollout-test-{uuid.uuid4()}",
            task_queue=complaints.task_queue,
        )
        signalled = await result_of(env, rollout)
        await wait_for_activity(handle, "refresh_task", 1)

    assert case_row(database, ended.ref).status == "accepting"
    assert signalled == 1
