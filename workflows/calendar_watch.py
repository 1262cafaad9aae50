"""Warn administrators when next year's schedule is missing (procedures.md §1).

A Temporal schedule runs this once a day. From 1 November on, while the coming
year has no published schedule, every province administrator gets one mail for
that year (the notification key makes a second run send nothing).
"""

from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar import (
        CalendarCheckInput,
        CalendarCheckResult,
        CalendarWarningInput,
        CalendarActivities,
    )
    from domain.deadlines import SHANGHAI
    from workflows.shared import DATABASE_RETRY, DATABASE_TIMEOUT, MAIL_RETRY, MAIL_TIMEOUT

CALENDAR_WATCH_ID = "calendar-watch"


@dataclass
class CalendarWatchInput:
    """Empty today; a dataclass so fields can be added without breaking runs."""


@dataclass
class CalendarWatchResult:
    missing_year: int | None
    warned: int


@workflow.defn
class CalendarWatchWorkflow:
    """Look for a missing schedule and warn the administrators once a year."""

    @workflow.run
    async def run(self, watch: CalendarWatchInput) -> CalendarWatchResult:
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
            CalendarWarningInput(year=check.missing_year),
            start_to_close_timeout=MAIL_TIMEOUT,
            retry_policy=MAIL_RETRY,
        )
        return CalendarWatchResult(missing_year=check.missing_year, warned=warned)
