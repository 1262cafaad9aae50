"""Tests for the four period kinds of procedures §1."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.calendar import WorkingCalendar, YearSchedule
from domain.deadlines import (
    DEFAULT_BASIS,
    SHANGHAI,
    PeriodKind,
    SkippedDay,
    add_months,
    add_working_days,
    compute_deadline,
    count_working_days,
    fixed_deadline,
    next_working_day,
    remaining_working_days,
)

CALENDAR = WorkingCalendar.default()

# A 2027 notice for the tests: 2026-12-31 to 2027-01-03 off, so the New Year
# block starts in the previous year, and Sunday 2027-01-10 a working day.
SCHEDULE_2027 = YearSchedule(
    2027,
    {date(2026, 12, 31) + timedelta(days=n): "new_years_day" for n in range(4)},
    {date(2027, 1, 10): "new_years_day"},
    "test notice",
)


def test_compute_deadline_working_days_worked_example():
    deadline = compute_deadline(
        PeriodKind.WORKING_DAYS, date(2026, 9, 24), 7, CALENDAR, "art. 76"
    )

    assert deadline.due_date == date(2026, 10, 12)
    assert deadline.due_at == datetime(2026, 10, 13, tzinfo=SHANGHAI)
    assert not deadline.provisional
    assert deadline.provisional_years == ()
    assert deadline.rolled_from is None
    assert deadline.skipped_ranges() == [
        (date(2026, 9, 25), date(2026, 9, 27), ("mid_autumn_festival",)),
        (date(2026, 10, 1), date(2026, 10, 7), ("national_day",)),
        (date(2026, 10, 11), date(2026, 10, 11), ("weekend",)),
    ]


def test_compute_deadline_calendar_days_worked_example_rolls_forward():
    deadline = compute_deadline(
        PeriodKind.CALENDAR_DAYS, date(2026, 9, 30), 5, CALENDAR, "art. 34"
    )

    assert deadline.due_date == date(2026, 10, 8)
    assert deadline.rolled_from == date(2026, 10, 5)
    assert deadline.skipped == (
        SkippedDay(date(2026, 10, 5), "national_day"),
        SkippedDay(date(2026, 10, 6), "national_day"),
        SkippedDay(date(2026, 10, 7), "national_day"),
    )


def test_compute_deadline_calendar_days_adjusted_workday_does_not_move():
    deadline = compute_deadline(
        PeriodKind.CALENDAR_DAYS, date(2026, 9, 10), 30, CALENDAR, "art. 72"
    )

    assert deadline.due_date == date(2026, 10, 10)
    assert deadline.rolled_from is None
    assert deadline.skipped == ()


def test_compute_deadline_months_worked_example_clamps_and_is_not_provisional():
    deadline = compute_deadline(
        PeriodKind.MONTHS, date(2026, 8, 31), 6, CALENDAR, "art. 35"
    )

    assert not CALENDAR.is_published(2027)
    assert deadline.due_date == date(2027, 2, 28)
    # Repair may be applied for from the day after: 2027-03-01.
    assert deadline.due_at == datetime(2027, 3, 1, tzinfo=SHANGHAI)
    assert not deadline.provisional
    assert deadline.skipped == ()


def test_compute_deadline_years_clamps_leap_day():
    deadline = compute_deadline(PeriodKind.YEARS, date(2024, 2, 29), 1, CALENDAR)

    assert deadline.due_date == date(2025, 2, 28)
    assert deadline.basis == "Civil Code art. 202"


def test_compute_deadline_working_days_provisional_until_year_loaded():
    before = compute_deadline(PeriodKind.WORKING_DAYS, date(2026, 12, 28), 7, CALENDAR)
    calendar = CALENDAR.with_schedule(SCHEDULE_2027, version=1)

    after = compute_deadline(PeriodKind.WORKING_DAYS, date(2026, 12, 28), 7, calendar)

    # Statutory rule: only 2027-01-01 off, besides the weekend.
    assert before.due_date == date(2027, 1, 7)
    assert before.provisional
    assert before.provisional_years == (2027,)
    assert before.calendar_version == 0
    # Published: 12/31 is off too, but Sunday 1/10 is a working day.
    assert after.due_date == date(2027, 1, 8)
    assert not after.provisional
    assert after.provisional_years == ()
    assert after.calendar_version == 1


def test_compute_deadline_calendar_days_provisional_only_when_consulted():
    # Only the last day is consulted: a period that starts in 2026 and ends on
    # a working day of 2027 is provisional, one that ends in 2026 is not.
    into_2027 = compute_deadline(
        PeriodKind.CALENDAR_DAYS, date(2026, 12, 1), 35, CALENDAR
    )
    within_2026 = compute_deadline(
        PeriodKind.CALENDAR_DAYS, date(2026, 12, 1), 10, CALENDAR
    )

    assert into_2027.provisional_years == (2027,)
    assert not within_2026.provisional


def test_compute_deadline_uses_default_basis():
    for kind in (PeriodKind.WORKING_DAYS, PeriodKind.CALENDAR_DAYS, PeriodKind.MONTHS):
        deadline = compute_deadline(kind, date(2026, 3, 2), 3, CALENDAR)
        assert deadline.basis == DEFAULT_BASIS[kind]


def test_compute_deadline_accepts_kind_value():
    kind: Any = "calendar_days"  # a plain string, as an API caller sends it

    deadline = compute_deadline(kind, date(2026, 3, 2), 3, CALENDAR)

    assert deadline.kind is PeriodKind.CALENDAR_DAYS


@pytest.mark.parametrize(
    ("kind", "amount", "message"),
    [
        (PeriodKind.WORKING_DAYS, 0, "at least 1"),
        (PeriodKind.CALENDAR_DAYS, -5, "at least 1"),
        (PeriodKind.MONTHS, 0, "at least 1"),
        (PeriodKind.CALENDAR_DAYS, 3661, "3660"),
        (PeriodKind.WORKING_DAYS, 4000, "3660"),
        (PeriodKind.MONTHS, 1201, "1200"),
        (PeriodKind.YEARS, 101, "100 years"),
    ],
)
def test_compute_deadline_bad_amount_refused(kind, amount, message):
    with pytest.raises(ValueError, match=message):
        compute_deadline(kind, date(2026, 3, 2), amount, CALENDAR)


def test_fixed_deadline_ends_that_day():
    deadline = fixed_deadline(date(2026, 12, 31), CALENDAR, "art. 23")
    same = compute_deadline(PeriodKind.FIXED_DATE, date(2026, 12, 31), 99, CALENDAR)

    assert deadline.due_date == date(2026, 12, 31)
    assert deadline.due_at == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert not deadline.provisional
    assert deadline.skipped == ()
    assert same.due_date == deadline.due_date
    assert same.basis == "fixed date"


def test_explain_working_days_in_chinese_and_english():
    deadline = compute_deadline(
        PeriodKind.WORKING_DAYS, date(2026, 9, 24), 7, CALENDAR, "art. 76"
    )

    assert deadline.explain() == (
        "7个工作日（《工作指引》第76条）：自2026-09-24次日起算，截至2026-10-12 24时；"
        "跳过 2026-09-25至2026-09-27（中秋节）、2026-10-01至2026-10-07（国庆节）、"
        "2026-10-11（周末）"
    )
    assert deadline.explain("en") == (
        "7 working days (art. 76) from the day after 2026-09-24, due 2026-10-12"
        " at 24:00; skipped 2026-09-25 to 2026-09-27 (Mid-Autumn Festival),"
        " 2026-10-01 to 2026-10-07 (National Day), 2026-10-11 (Weekend)"
    )


def test_explain_calendar_days_roll_forward():
    deadline = compute_deadline(
        PeriodKind.CALENDAR_DAYS, date(2026, 9, 30), 5, CALENDAR, "art. 34"
    )

    assert "第5日2026-10-05为国庆节，顺延至其后第一个工作日2026-10-08" in (
        deadline.explain()
    )
    assert (
        "day 5 is 2026-10-05 (National Day), moved to the first working day"
        " 2026-10-08 (Civil Code art. 203)"
    ) in deadline.explain("en")


def test_explain_provisional_names_years():
    deadline = compute_deadline(
        PeriodKind.WORKING_DAYS, date(2026, 12, 28), 7, CALENDAR
    )

    assert "暂定：2027年节假日安排尚未公布" in deadline.explain()
    assert "provisional: no published holiday schedule for 2027" in (
        deadline.explain("en")
    )
    assert "（元旦、周末）" in deadline.explain()


def test_explain_months_clamped_and_fixed():
    months = compute_deadline(PeriodKind.MONTHS, date(2026, 8, 31), 6, CALENDAR)
    fixed = fixed_deadline(date(2027, 3, 31), CALENDAR, "art. 23")

    assert months.explain().startswith("6个月（《民法典》第202条）：自2026-08-31起算")
    assert "该月无31日" in months.explain()
    assert "that month has no day 31" in months.explain("en")
    assert fixed.explain("en") == "fixed date (art. 23): by 2027-03-31 at 24:00"
    assert fixed.explain() == "固定日期（《工作指引》第23条）：2027-03-31 24时前"


def test_is_overdue_at_midnight():
    deadline = fixed_deadline(date(2026, 12, 31), CALENDAR)

    assert not deadline.is_overdue(datetime(2026, 12, 31, 23, 59, tzinfo=SHANGHAI))
    assert deadline.is_overdue(datetime(2027, 1, 1, tzinfo=SHANGHAI))
    # The same instant seen from UTC.
    assert deadline.is_overdue(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))


def test_add_months_clamps_to_month_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 5, 15), 12) == date(2027, 5, 15)


def test_add_working_days_and_next_working_day():
    assert add_working_days(date(2026, 9, 24), 7, CALENDAR) == date(2026, 10, 12)
    assert next_working_day(date(2026, 10, 1), CALENDAR) == date(2026, 10, 8)
    assert next_working_day(date(2026, 10, 8), CALENDAR) == date(2026, 10, 8)


def test_count_working_days_between():
    assert count_working_days(date(2026, 9, 24), date(2026, 10, 12), CALENDAR) == 7
    assert count_working_days(date(2026, 10, 12), date(2026, 10, 12), CALENDAR) == 0


@pytest.mark.parametrize(
    ("today", "due", "remaining"),
    [
        (date(2026, 9, 24), date(2026, 10, 12), 7),
        (date(2026, 10, 12), date(2026, 10, 12), 0),
        # Friday, due on Sunday: no working day left, yet not overdue.
        (date(2026, 10, 16), date(2026, 10, 18), 0),
        (date(2026, 10, 13), date(2026, 10, 12), -1),
        (date(2026, 10, 8), date(2026, 9, 30), -1),
        (date(2026, 10, 12), date(2026, 9, 30), -4),
    ],
)
def test_remaining_working_days(today, due, remaining):
    assert remaining_working_days(today, due, CALENDAR) == remaining


def _every_day_off(year: int) -> YearSchedule:
    days = {date(year, 1, 1) + timedelta(days=n): "national_day" for n in range(365)}
    return YearSchedule(year, days, {}, "broken")


def test_compute_deadline_broken_calendar_refused():
    calendar = CALENDAR.with_schedule(_every_day_off(2030), version=9)
    calendar = calendar.with_schedule(_every_day_off(2031), version=10)

    with pytest.raises(ValueError, match="no working day"):
        compute_deadline(PeriodKind.CALENDAR_DAYS, date(2029, 12, 31), 1, calendar)
    with pytest.raises(ValueError, match="no working day"):
        compute_deadline(PeriodKind.WORKING_DAYS, date(2029, 12, 31), 1, calendar)
