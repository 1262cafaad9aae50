"""Property tests of the period rules over many start dates (procedures §1)."""

import calendar as gregorian
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import WorkingCalendar
from domain.deadlines import PeriodKind, add_working_days, compute_deadline

CALENDAR = WorkingCalendar.default()
# The installed chinese_calendar 1.11.0 publishes these years, and no others.
PUBLISHED_YEARS = set(range(2004, 2027))

starts = st.dates(min_value=date(2004, 1, 1), max_value=date(2030, 12, 31))
amounts = st.integers(min_value=1, max_value=60)
examples = settings(max_examples=200, deadline=None)


def _unpublished_years(first: date, last: date) -> tuple[int, ...]:
    years = range(first.year, last.year + 1)
    return tuple(year for year in years if year not in PUBLISHED_YEARS)


@examples
@given(start=starts, amount=amounts)
def test_working_day_deadline_is_a_working_day(start, amount):
    deadline = compute_deadline(PeriodKind.WORKING_DAYS, start, amount, CALENDAR)

    assert CALENDAR.is_working_day(deadline.due_date)
    assert deadline.due_date > start
    assert all(not CALENDAR.is_working_day(s.day) for s in deadline.skipped)
    assert (deadline.due_date - start).days == amount + len(deadline.skipped)


@examples
@given(start=starts, first=amounts, second=amounts)
def test_working_days_add_up(start, first, second):
    in_two_steps = add_working_days(
        add_working_days(start, first, CALENDAR), second, CALENDAR
    )

    assert in_two_steps == add_working_days(start, first + second, CALENDAR)


@examples
@given(start=starts, amount=amounts)
def test_calendar_day_deadline_rolls_only_over_rest_days(start, amount):
    raw = start + timedelta(days=amount)

    deadline = compute_deadline(PeriodKind.CALENDAR_DAYS, start, amount, CALENDAR)

    assert deadline.due_date >= raw
    assert CALENDAR.is_working_day(deadline.due_date)
    if CALENDAR.is_working_day(raw):
        assert deadline.due_date == raw
        assert deadline.rolled_from is None
    else:
        assert deadline.rolled_from == raw
    passed = [raw + timedelta(days=n) for n in range((deadline.due_date - raw).days)]
    assert [s.day for s in deadline.skipped] == passed
    assert all(not CALENDAR.is_working_day(day) for day in passed)


@examples
@given(start=starts, amount=amounts)
def test_working_days_provisional_exactly_when_unpublished_year_touched(start, amount):
    deadline = compute_deadline(PeriodKind.WORKING_DAYS, start, amount, CALENDAR)

    expected = _unpublished_years(start + timedelta(days=1), deadline.due_date)
    assert deadline.provisional_years == expected
    assert deadline.provisional is bool(expected)


@examples
@given(start=starts, amount=amounts)
def test_calendar_days_provisional_exactly_when_unpublished_year_touched(start, amount):
    deadline = compute_deadline(PeriodKind.CALENDAR_DAYS, start, amount, CALENDAR)

    expected = _unpublished_years(start + timedelta(days=amount), deadline.due_date)
    assert deadline.provisional_years == expected
    assert deadline.provisional is bool(expected)


@examples
@given(start=starts, amount=amounts)
def test_months_keep_the_day_unless_clamped(start, amount):
    deadline = compute_deadline(PeriodKind.MONTHS, start, amount, CALENDAR)

    due = deadline.due_date
    months_later = (due.year - start.year) * 12 + due.month - start.month
    assert months_later == amount
    assert due.day <= start.day
    if due.day != start.day:
        assert due.day == gregorian.monthrange(due.year, due.month)[1]
    assert not deadline.provisional


@examples
@given(
    start=starts,
    amount=amounts,
    kind=st.sampled_from(
        [PeriodKind.WORKING_DAYS, PeriodKind.CALENDAR_DAYS, PeriodKind.MONTHS]
    ),
)
def test_explain_mentions_due_date_in_both_languages(start, amount, kind):
    deadline = compute_deadline(kind, start, amount, CALENDAR, "art. 76")

    for locale in ("zh", "en"):
        text = deadline.explain(locale)
        assert deadline.due_date.isoformat() in text
        assert "\n" not in text
        assert ("暂定" in text or "provisional" in text) is deadline.provisional


@examples
@given(after=starts, span=st.integers(min_value=-10, max_value=800))
def test_counting_a_span_agrees_with_looking_at_each_day(after, span):
    through = after + timedelta(days=span)
    one_by_one = sum(
        CALENDAR.is_working_day(after + timedelta(days=offset))
        for offset in range(1, span + 1)
    )

    assert CALENDAR.working_days_between(after, through) == one_by_one
