"""The escalation ladder of a task with a deadline (督办).

A task is reminded before it falls due, announced on the due day, reported to
the supervisor once overdue and raised one level up if it stays overdue. The
plan is computed from the deadline and the working calendar only, so a worker
that restarts, or a calendar that changes, recomputes it and fires whatever it
missed.

"Remaining working days on day D" means the working days in [D, due_date],
counting D itself: on the due day of a working-day deadline it is 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from domain.calendar import WorkingCalendar
from domain.deadlines import (
    SHANGHAI,
    add_working_days,
    count_working_days,
    end_of_day,
    next_working_day,
)

# Notices go out at the start of the office day, not at midnight.
NOTICE_TIME = time(8, 0)

# Working days left (counting the day itself) when the assignee is reminded.
REMINDER_LEAD = 2
# Periods shorter than this many working days get a lead of a fifth of the
# period instead, so a short task is not reminded the moment it starts.
SHORT_PERIOD = 10
# Working days after the due date before the next level up is told.
ESCALATION_AFTER = 5

_ONE_DAY = timedelta(days=1)


class Rung(StrEnum):
    """One step of the escalation ladder."""

    REMINDER = "reminder"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


RUNG_NAMES: dict[Rung, tuple[str, str]] = {
    Rung.REMINDER: ("到期提醒", "Reminder"),
    Rung.DUE_TODAY: ("今日到期", "Due today"),
    Rung.OVERDUE: ("已逾期", "Overdue"),
    Rung.ESCALATED: ("已上报督办", "Escalated"),
}


class Urgency(StrEnum):
    """How an inbox colours a task: red, amber or plain."""

    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    NORMAL = "normal"


@dataclass(frozen=True)
class PlannedRung:
    """A rung and the moment it fires."""

    rung: Rung
    # Aware, in Asia/Shanghai.
    at: datetime
    # The day the rung belongs to; for the 24:00 rungs, the day that ends.
    day: date


def remaining_including(day: date, due_date: date, calendar: WorkingCalendar) -> int:
    """Return the working days in [day, due_date], counting the day itself."""
    return count_working_days(day - _ONE_DAY, due_date, calendar)


def reminder_lead(period_working_days: int) -> int:
    """Return the working days left (counting the day) when the reminder fires."""
    if period_working_days >= SHORT_PERIOD:
        return REMINDER_LEAD
    return max(1, math.ceil(period_working_days / 5))


def _reminder_day(
    start: date, due_date: date, lead: int, calendar: WorkingCalendar
) -> date | None:
    """Return the day of the reminder, or None when the due-day notice covers it."""
    # Walk back from the due date to the working day with `lead` working days
    # left; it does not exist after start when the period is shorter than lead.
    found, day = 0, due_date
    while day > start:
        if calendar.is_working_day(day):
            found += 1
            if found == lead:
                break
        day -= _ONE_DAY
    if day <= start:
        day = next_working_day(start + _ONE_DAY, calendar)
    # A reminder on (or, for a due date on a rest day, after) the due day
    # would say what the due-day notice says.
    return day if day < due_date else None


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


def plan_escalation(
    start: date,
    due_date: date,
    period_working_days: int | None,
    calendar: WorkingCalendar,
) -> tuple[PlannedRung, ...]:
    """Return the rungs of a task's deadline in time order.

    `period_working_days` is the working days between start and due_date; None
    counts them from the calendar (for a period of calendar days, say).
    """
    if due_date < start:
        raise ValueError(f"due date {due_date} is before the start {start}")
    if period_working_days is None:
        period_working_days = count_working_days(start, due_date, calendar)
    if period_working_days < 0:
        raise ValueError(f"a period of {period_working_days} working days")

    plan: list[PlannedRung] = []
    lead = reminder_lead(period_working_days)
    reminder_day = _reminder_day(start, due_date, lead, calendar)
    if reminder_day is not None:
        plan.append(
            PlannedRung(Rung.REMINDER, _at(reminder_day, NOTICE_TIME), reminder_day)
        )
    plan.append(PlannedRung(Rung.DUE_TODAY, _at(due_date, NOTICE_TIME), due_date))
    plan.append(PlannedRung(Rung.OVERDUE, end_of_day(due_date), due_date))
    escalation_day = add_working_days(due_date, ESCALATION_AFTER, calendar)
    plan.append(PlannedRung(Rung.ESCALATED, end_of_day(escalation_day), escalation_day))
    return tuple(plan)


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


def pending_rungs(
    plan: Iterable[PlannedRung], now: datetime, fired: set[Rung]
) -> tuple[PlannedRung, ...]:
    """Return the rungs not yet fired, those already due first, in time order.

    The rungs whose time has passed (after a worker restart or a calendar
    change) are to fire at once, in order; the rest are waited for.
    """
    _check_aware(now)
    # In time order, the rungs already due come first by construction.
    return tuple(sorted((p for p in plan if p.rung not in fired), key=lambda p: p.at))


def urgency(now: datetime, due_date: date, calendar: WorkingCalendar) -> Urgency:
    """Return how urgent a task is: overdue (red), at_risk (amber) or normal."""
    _check_aware(now)
    if now >= end_of_day(due_date):
        return Urgency.OVERDUE
    today = now.astimezone(SHANGHAI).date()
    if remaining_including(today, due_date, calendar) <= REMINDER_LEAD:
        return Urgency.AT_RISK
    return Urgency.NORMAL
