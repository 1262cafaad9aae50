"""Tests for the versioned working calendar (procedures §1)."""

from datetime import date, timedelta

import chinese_calendar
import pytest

from domain.calendar import (
    HOLIDAY_KEYS,
    HOLIDAY_NAMES,
    DayStatus,
    WorkingCalendar,
    YearSchedule,
    holiday_name,
    schedules_from_chinese_calendar,
    statutory_holidays,
)

CALENDAR = WorkingCalendar.default()


def test_holiday_names_cover_every_chinese_calendar_holiday():
    for holiday in chinese_calendar.Holiday:
        assert holiday.name in HOLIDAY_KEYS
    assert HOLIDAY_NAMES["national_day"] == ("国庆节", "National Day")
    assert holiday_name("weekend", "en") == "Weekend"
    assert holiday_name("adjusted_workday") == "调休上班日"


def test_load_chinese_calendar_publishes_2004_to_2026():
    schedules = schedules_from_chinese_calendar()

    assert sorted(schedules) == list(range(2004, 2027))
    assert schedules[2026].source == f"chinese-calendar {chinese_calendar.__version__}"
    assert schedules[2026].workdays[date(2026, 10, 10)] == "national_day"


def test_load_chinese_calendar_puts_december_new_year_days_in_next_notice():
    schedules = schedules_from_chinese_calendar()

    # The 2024 notice declared 2023-12-30..2024-01-01; the 2007 notice made
    # 2006-12-30 and 2006-12-31 working days.
    assert schedules[2024].holidays[date(2023, 12, 30)] == "new_years_day"
    assert date(2023, 12, 30) not in schedules[2023].holidays
    assert schedules[2007].workdays[date(2006, 12, 30)] == "new_years_day"


@pytest.mark.parametrize(
    ("day", "working", "reason"),
    [
        (date(2026, 9, 25), False, "mid_autumn_festival"),
        (date(2026, 10, 3), False, "national_day"),
        (date(2026, 10, 10), True, "adjusted_workday"),
        (date(2026, 9, 20), True, "adjusted_workday"),
        (date(2026, 10, 11), False, "weekend"),
        (date(2026, 10, 12), True, None),
        (date(2015, 9, 3), False, "anti_fascist_70th_day"),
    ],
)
def test_day_status_published_year(day, working, reason):
    assert CALENDAR.day_status(day) == DayStatus(day, working, reason, False)
    assert CALENDAR.is_working_day(day) is working


def test_day_status_honours_neighbouring_notice():
    # 2023-12-30 is a Saturday declared part of the 2024 New Year block, and
    # 2006-12-30 a Saturday made working by the 2007 notice.
    assert CALENDAR.day_status(date(2023, 12, 30)).reason == "new_years_day"
    assert CALENDAR.day_status(date(2006, 12, 30)) == DayStatus(
        date(2006, 12, 30), True, "adjusted_workday", False
    )


def test_day_status_own_year_wins_over_neighbour():
    own = YearSchedule(2030, {date(2030, 12, 31): "national_day"}, {}, "own")
    neighbour = YearSchedule(
        2031,
        {date(2031, 1, 1): "new_years_day"},
        {date(2030, 12, 31): "new_years_day"},
        "next",
    )
    calendar = WorkingCalendar({2030: own, 2031: neighbour}, version=1)

    assert calendar.day_status(date(2030, 12, 31)).reason == "national_day"


def test_day_status_unpublished_year_is_provisional():
    new_year = CALENDAR.day_status(date(2027, 1, 1))
    saturday = CALENDAR.day_status(date(2027, 1, 9))
    monday = CALENDAR.day_status(date(2027, 1, 11))

    assert new_year == DayStatus(date(2027, 1, 1), False, "new_years_day", True)
    assert saturday == DayStatus(date(2027, 1, 9), False, "weekend", True)
    assert monday == DayStatus(date(2027, 1, 11), True, None, True)
    assert not CALENDAR.is_published(2027)
    assert CALENDAR.is_published(2026)


def test_day_status_covers_every_day_of_a_leap_year():
    day = date(2028, 1, 1)
    while day.year == 2028:
        assert CALENDAR.day_status(day).day == day
        day += timedelta(days=1)


def test_statutory_holidays_known_days():
    days_2025 = statutory_holidays(2025)
    days_2026 = statutory_holidays(2026)

    # Spring Festival: lunar New Year's Eve to lunar 1/3.
    spring_2025 = sorted(d for d, k in days_2025.items() if k == "spring_festival")
    assert spring_2025 == [date(2025, 1, 28) + timedelta(days=n) for n in range(4)]
    assert days_2026[date(2026, 4, 5)] == "tomb_sweeping_day"
    assert days_2026[date(2026, 6, 19)] == "dragon_boat_festival"
    assert days_2026[date(2026, 9, 25)] == "mid_autumn_festival"
    assert days_2026[date(2026, 5, 2)] == "labour_day"
    assert len(days_2026) == 13


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_holidays_within_published_schedule(year):
    # Since the 2025 revision of the holiday regulation, every statutory day
    # is a rest day of the published notice.
    for day in statutory_holidays(year):
        assert day in chinese_calendar.holidays, day


@pytest.mark.parametrize("year", range(2008, 2027))
def test_statutory_holidays_are_published_rest_days(year):
    # Holidays unchanged since the 2008 regulation: New Year, Qingming, 1 May,
    # Dragon Boat, Mid-Autumn, 1-3 October, lunar 1/1-1/3. (New Year's Eve and
    # 2 May were added in 2025 and are checked above.) The check is on rest
    # days, as the data lacks Saturday 2012-06-23, a Dragon Boat day.
    spring_festival = sorted(
        d for d, k in statutory_holidays(year).items() if k == "spring_festival"
    )
    lunar_new_year_days = spring_festival[1:]
    days = [
        day
        for day, key in statutory_holidays(year).items()
        if (key != "spring_festival" or day in lunar_new_year_days)
        and day != date(year, 5, 2)
    ]

    # Ten when Mid-Autumn falls on 1-3 October (2009, 2020).
    assert len(days) in (10, 11)
    for day in days:
        assert not CALENDAR.is_working_day(day), day


def test_statutory_holidays_national_day_wins_a_shared_day():
    # Mid-Autumn fell on 1 October 2020; the published data calls it National Day.
    assert statutory_holidays(2020)[date(2020, 10, 1)] == "national_day"


def test_statutory_holidays_beyond_the_lunar_tables_keep_the_solar_days():
    days = statutory_holidays(2106)

    assert set(days.values()) == {"new_years_day", "labour_day", "national_day"}
    assert WorkingCalendar.default().day_status(date(2106, 10, 2)).provisional


def test_with_schedule_replaces_year_and_keeps_original():
    schedule = YearSchedule(
        2027,
        {date(2027, 1, 1): "new_years_day", date(2027, 1, 4): "new_years_day"},
        {date(2027, 1, 9): "new_years_day"},
        "upload: 2027.txt by admin",
    )

    updated = CALENDAR.with_schedule(schedule, version=3)

    assert updated.version == 3
    assert updated.is_published(2027)
    assert updated.day_status(date(2027, 1, 4)).reason == "new_years_day"
    assert updated.day_status(date(2027, 1, 9)).working
    assert not updated.day_status(date(2027, 1, 9)).provisional
    assert CALENDAR.is_working_day(date(2027, 1, 4))
    assert CALENDAR.version == 0


def test_year_schedule_copies_callers_dicts():
    holidays = {date(2027, 1, 1): "new_years_day"}
    schedule = YearSchedule(2027, holidays, {}, "test")

    holidays[date(2027, 1, 4)] = "new_years_day"

    assert list(schedule.holidays) == [date(2027, 1, 1)]


def test_year_view_published_and_provisional():
    published = CALENDAR.year_view(2026)
    provisional = CALENDAR.year_view(2027)

    assert published.published
    assert published.source is not None
    assert published.workdays[-1] == (date(2026, 10, 10), "national_day")
    assert published.holidays == tuple(sorted(published.holidays))
    assert not provisional.published
    assert provisional.source is None
    assert provisional.workdays == ()
    assert provisional.holidays[0] == (date(2027, 1, 1), "new_years_day")
