"""Warn administrators when next year's schedule is missing (procedures.md §1).

A Temporal schedule runs this once a day. From 1 November on, while the coming
year has no published schedule, every province administrator gets one mail for
that year (the notification key makes a second run send nothing).
"""

from dataclasses import dataclass
from datetime import date

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar import (
        CalendarActivities,
        CalendarCheckInput,
        CalendarCheckResult,
        CalendarWarningInput,
    )
    from domain.deadlines import SHANGHAI
    from workflows.shared import (
        DATABASE_RETRY,
        DATABASE_TIMEOUT,
        MAIL_RETRY,
        MAIL_TIMEOUT,
    )

CALENDAR_WATCH_ID = "calendar-watch"


@dataclass
class CalendarWatchInput:
    """What the daily run needs; the schedule passes it empty."""

    today: str | None = None
    """ISO date to check instead of the workflow's clock: for tests, backfills."""


@dataclass
class CalendarWatchResult:
    missing_year: int | None
    warned: int


@workflow.defn
class CalendarWatchWorkflow:
    """Look for a missing schedule and warn the administrators once a year."""

    @workflow.run
    async def run(self, watch: CalendarWatchInput) -> CalendarWatchResult:
        if watch.today is not None:
            today = date.fromisoformat(watch.today)
        else:
            today = workflow.now().astimezone(SHANGHAI).date()
        check: CalendarCheckResult = await workflow.execute_activity_method(
            CalendarActivities.check_next_year,
            CalendarCheckInput(today=today.isoformat()),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        if check.missing_year is None:
            return CalendarWatchResult(missing_year=None, warned=0)
        warned = await workflow.execute_activity_method(
            CalendarActivities.warn_administrators,
            CalendarWarningInput(year=check.missing_year, today=today.isoformat()),
            start_to_close_timeout=MAIL_TIMEOUT,
            retry_policy=MAIL_RETRY,
        )
        return CalendarWatchResult(missing_year=check.missing_year, warned=warned)
