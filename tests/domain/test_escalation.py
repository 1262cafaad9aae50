"""Tests for the escalation ladder of a task with a deadline."""

import itertools
import random
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import WorkingCalendar
from domain.deadlines import SHANGHAI, add_working_days
from domain.escalation import (
    RUNG_NAMES,
    PlannedRung,
    Rung,
    Urgency,
    pending_rungs,
    plan_escalation,
    remaining_including,
    reminder_lead,
    urgency,
)

CALENDAR = WorkingCalendar.default()


def _shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0):
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def _by_rung(plan: tuple[PlannedRung, ...]) -> dict[Rung, datetime]:
    return {planned.rung: planned.at for planned in plan}


def test_rung_names_cover_every_rung():
    assert set(RUNG_NAMES) == set(Rung)


def test_remaining_including_counts_the_day_itself():
    due = date(2026, 10, 12)

    assert remaining_including(date(2026, 10, 12), due, CALENDAR) == 1
    # Sunday 10/11 is a rest day; the adjusted working Saturday 10/10 counts.
    assert remaining_including(date(2026, 10, 11), due, CALENDAR) == 1
    assert remaining_including(date(2026, 10, 10), due, CALENDAR) == 2
    assert remaining_including(date(2026, 10, 9), due, CALENDAR) == 3
    assert remaining_including(date(2026, 10, 13), due, CALENDAR) == 0


@pytest.mark.parametrize(
    ("period", "lead"), [(0, 1), (1, 1), (5, 1), (6, 2), (9, 2), (10, 2), (60, 2)]
)
def test_reminder_lead_is_a_fifth_of_short_periods(period, lead):
    assert reminder_lead(period) == lead


def test_plan_for_the_seven_working_day_acceptance_example():
    plan = plan_escalation(date(2026, 9, 24), date(2026, 10, 12), 7, CALENDAR)

    assert plan == (
        PlannedRung(Rung.REMINDER, _shanghai(2026, 10, 10, 8), date(2026, 10, 10)),
        PlannedRung(Rung.DUE_TODAY, _shanghai(2026, 10, 12, 8), date(2026, 10, 12)),
        PlannedRung(Rung.OVERDUE, _shanghai(2026, 10, 13), date(2026, 10, 12)),
        # Five working days after 10/12: 10/13, 10/14, 10/15, 10/16, 10/19.
        PlannedRung(Rung.ESCALATED, _shanghai(2026, 10, 20), date(2026, 10, 19)),
    )


def test_plan_counts_the_period_when_not_given():
    given_period = plan_escalation(date(2026, 9, 24), date(2026, 10, 12), 7, CALENDAR)

    counted = plan_escalation(date(2026, 9, 24), date(2026, 10, 12), None, CALENDAR)

    assert counted == given_period


def test_plan_for_a_sixty_day_handling_deadline():
    plan = plan_escalation(date(2026, 10, 12), date(2026, 12, 11), None, CALENDAR)

    assert _by_rung(plan) == {
        Rung.REMINDER: _shanghai(2026, 12, 10, 8),
        Rung.DUE_TODAY: _shanghai(2026, 12, 11, 8),
        Rung.OVERDUE: _shanghai(2026, 12, 12),
        Rung.ESCALATED: _shanghai(2026, 12, 19),
    }


def test_plan_for_a_one_working_day_period_has_no_reminder():
    # The only working day after Thursday 9/24 is Monday 9/28, after Mid-Autumn.
    plan = plan_escalation(date(2026, 9, 24), date(2026, 9, 28), 1, CALENDAR)

    assert _by_rung(plan) == {
        Rung.DUE_TODAY: _shanghai(2026, 9, 28, 8),
        Rung.OVERDUE: _shanghai(2026, 9, 29),
        # 9/29, 9/30, then National Day, then 10/8, 10/9 and Saturday 10/10.
        Rung.ESCALATED: _shanghai(2026, 10, 11),
    }


def test_plan_for_a_due_date_on_the_start_day_has_no_reminder():
    plan = plan_escalation(date(2026, 11, 2), date(2026, 11, 2), 0, CALENDAR)

    assert [p.rung for p in plan] == [Rung.DUE_TODAY, Rung.OVERDUE, Rung.ESCALATED]


def test_plan_too_short_for_its_lead_reminds_on_the_first_working_day():
    # Thursday 11/05 to Sunday 11/08 holds one working day, Friday, fewer than
    # the lead of the 10-day period the caller names.
    plan = plan_escalation(date(2026, 11, 5), date(2026, 11, 8), 10, CALENDAR)

    assert plan[0] == PlannedRung(
        Rung.REMINDER, _shanghai(2026, 11, 6, 8), date(2026, 11, 6)
    )
    assert plan[1].rung is Rung.DUE_TODAY
    assert plan[1].at == _shanghai(2026, 11, 8, 8)


def test_plan_refuses_a_due_date_before_the_start():
    with pytest.raises(ValueError):
        plan_escalation(date(2026, 11, 5), date(2026, 11, 4), None, CALENDAR)


def test_plan_refuses_a_negative_period():
    with pytest.raises(ValueError):
        plan_escalation(date(2026, 11, 5), date(2026, 11, 9), -1, CALENDAR)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)),
    period=st.integers(min_value=1, max_value=60),
)
def test_plan_times_increase_and_the_reminder_comes_first(start, period):
    due = add_working_days(start, period, CALENDAR)

    plan = plan_escalation(start, due, period, CALENDAR)

    times = [p.at for p in plan]
    assert all(earlier < later for earlier, later in itertools.pairwise(times))
    rungs = [p.rung for p in plan]
    assert rungs[-3:] == [Rung.DUE_TODAY, Rung.OVERDUE, Rung.ESCALATED]
    assert len(set(rungs)) == len(rungs)
    assert all(p.at.tzinfo is SHANGHAI for p in plan)
    if rungs[0] is Rung.REMINDER:
        reminder = plan[0]
        assert reminder.at < _by_rung(plan)[Rung.DUE_TODAY]
        assert start < reminder.day < due
        assert CALENDAR.is_working_day(reminder.day)
        lead = reminder_lead(period)
        assert remaining_including(reminder.day, due, CALENDAR) == lead
    else:
        # Only a lead of one puts the reminder on the due day itself.
        assert reminder_lead(period) == 1


def _acceptance_plan() -> tuple[PlannedRung, ...]:
    return plan_escalation(date(2026, 9, 24), date(2026, 10, 12), 7, CALENDAR)


def test_pending_rungs_before_anything_is_due_keeps_the_plan():
    plan = _acceptance_plan()

    assert pending_rungs(plan, _shanghai(2026, 9, 24, 12), set()) == plan


def test_pending_rungs_after_a_restart_puts_the_missed_rungs_first():
    plan = _acceptance_plan()
    # The worker was down from before the reminder until the morning after the
    # due day: the due-day notice and the overdue report were missed too.
    now = _shanghai(2026, 10, 13, 9)

    pending = pending_rungs(plan, now, {Rung.REMINDER})

    assert [p.rung for p in pending] == [Rung.DUE_TODAY, Rung.OVERDUE, Rung.ESCALATED]
    assert [p.at <= now for p in pending] == [True, True, False]


def test_pending_rungs_orders_a_shuffled_plan_by_time():
    plan = _acceptance_plan()
    shuffled = list(plan)
    random.Random(4).shuffle(shuffled)

    assert pending_rungs(shuffled, _shanghai(2026, 10, 12, 9), set()) == plan


def test_pending_rungs_when_all_fired_is_empty():
    plan = _acceptance_plan()

    assert pending_rungs(plan, _shanghai(2026, 11, 1), set(Rung)) == ()


def test_pending_rungs_refuses_a_naive_now():
    with pytest.raises(ValueError):
        pending_rungs(_acceptance_plan(), datetime(2026, 10, 12, 9), set())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (_shanghai(2026, 10, 5, 10), Urgency.NORMAL),
        (_shanghai(2026, 10, 9, 10), Urgency.NORMAL),
        (_shanghai(2026, 10, 10, 10), Urgency.AT_RISK),
        (_shanghai(2026, 10, 11, 10), Urgency.AT_RISK),
        (_shanghai(2026, 10, 12, 23, 59), Urgency.AT_RISK),
        (_shanghai(2026, 10, 13), Urgency.OVERDUE),
        # 17:00 UTC on 10/09 is already 01:00 of Saturday 10/10 in Shanghai.
        (datetime(2026, 10, 9, 17, tzinfo=UTC), Urgency.AT_RISK),
        (datetime(2026, 10, 12, 16, 30, tzinfo=UTC), Urgency.OVERDUE),
    ],
)
def test_urgency_colours_by_working_days_left(now, expected):
    assert urgency(now, date(2026, 10, 12), CALENDAR) == expected


def test_urgency_is_a_plain_string_for_templates():
    value = urgency(_shanghai(2026, 10, 13), date(2026, 10, 12), CALENDAR)

    assert value == "overdue"
    assert isinstance(value, str)
