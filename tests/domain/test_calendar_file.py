"""Tests for the administrator's calendar file format."""

from datetime import date, timedelta

import pytest

from domain.calendar import WorkingCalendar, YearSchedule
from domain.calendar_file import (
    CalendarFileError,
    format_calendar_file,
    parse_calendar_file,
)

GOOD_FILE = """\
# 国务院办公厅关于2027年部分节假日安排的通知
year 2027
source 国办发明电〔2026〕8号

holiday 2027-01-01 new_years_day
holiday 2027-02-06..2027-02-13 spring_festival   # 春节，八天
workday 2027-02-14 spring_festival
holiday 2027-10-01..2027-10-07 国庆节
"""


def _parse(text: str) -> YearSchedule:
    return parse_calendar_file(text, "upload: 2027.txt by admin")


def test_parse_calendar_file_good_file():
    schedule = _parse(GOOD_FILE)

    assert schedule.year == 2027
    assert schedule.source == "国办发明电〔2026〕8号 (upload: 2027.txt by admin)"
    assert len(schedule.holidays) == 1 + 8 + 7
    assert schedule.holidays[date(2027, 2, 13)] == "spring_festival"
    assert schedule.holidays[date(2027, 10, 7)] == "national_day"
    assert schedule.workdays == {date(2027, 2, 14): "spring_festival"}


def test_parse_calendar_file_minimal_file_uses_source_name():
    schedule = _parse("\ufeffyear 2027\r\nholiday 2026-12-31..2027-01-01 元旦\r\n")

    assert schedule.source == "upload: 2027.txt by admin"
    assert list(schedule.holidays) == [date(2026, 12, 31), date(2027, 1, 1)]


def test_parsed_schedule_loads_into_calendar():
    calendar = WorkingCalendar.default().with_schedule(_parse(GOOD_FILE), version=7)

    assert calendar.is_published(2027)
    assert calendar.is_working_day(date(2027, 2, 14))
    assert not calendar.day_status(date(2027, 2, 12)).provisional


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("holiday 2027-02-30 new_years_day", "'2027-02-30' is not a valid date"),
        ("holiday 27-1-1 new_years_day", "not a date written YYYY-MM-DD"),
        ("holiday 2027-01-01 christmas", "unknown holiday 'christmas'"),
        ("holiday 2027-01-01 weekend", "unknown holiday 'weekend'"),
        ("holiday 2027-01-01", "write a holiday as"),
        ("holiday 2027-02-13..2027-02-06 spring_festival", "ends (2027-02-06) before"),
        ("holiday 2027-01-01..2027-02-15 spring_festival", "at most 40 days"),
        ("holiday 2028-01-01 new_years_day", "2028-01-01 is outside 2027"),
        ("holiday 2026-12-01 new_years_day", "2026-12-01 is outside 2027"),
        ("workday 2027-02-15 spring_festival", "is a weekday"),
        ("workday 2027-02-20..2027-02-21 spring_festival", "not a date written"),
        ("workday 2027-10-09", "write an adjusted working day as"),
        (
            "holiday 2027-02-14 spring_festival",
            "already declared a working day on line 7",
        ),
        ("holiday 2027-02-10 spring_festival", "already declared a holiday on line 6"),
        ("year 2028", "the year is declared twice"),
        ("source again", "the source is declared twice"),
        ("holliday 2027-05-01 labour_day", "unknown keyword 'holliday'"),
    ],
)
def test_parse_calendar_file_bad_line_refused_with_its_number(line, message):
    text = GOOD_FILE + line + "\n"

    with pytest.raises(CalendarFileError) as caught:
        _parse(text)

    assert caught.value.line_no == 9
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value) == f"line 9: {caught.value.message}"


def test_parse_calendar_file_error_message_format():
    text = "year 2027\nsource x\n\nholiday 2027-02-30 new_years_day\n"

    with pytest.raises(CalendarFileError, match=r"^line 4: '2027-02-30' is not"):
        _parse(text)


@pytest.mark.parametrize(
    ("text", "line_no", "message"),
    [
        ("# only\nholiday 2027-01-01 new_years_day\n", 2, "first line must be 'year"),
        ("source x\nyear 2027\n", 1, "first line must be 'year"),
        ("year 1999\n", 1, "not between 2000 and 2100"),
        ("year twenty\n", 1, "write the year as"),
        ("year 2027\n# nothing yet\n", 0, "declares no holiday"),
        ("", 0, "declares no year"),
    ],
)
def test_parse_calendar_file_bad_file_refused(text, line_no, message):
    with pytest.raises(CalendarFileError) as caught:
        _parse(text)

    assert caught.value.line_no == line_no
    assert message in str(caught.value)


def test_format_calendar_file_round_trip_uploaded_file():
    schedule = _parse(GOOD_FILE)

    text = format_calendar_file(schedule)
    again = parse_calendar_file(text, "download")

    assert "holiday 2027-02-06..2027-02-13 spring_festival" in text
    assert "workday 2027-02-14 spring_festival" in text
    assert again.year == schedule.year
    assert again.holidays == schedule.holidays
    assert again.workdays == schedule.workdays
    assert again.source.startswith(schedule.source)


def test_format_calendar_file_round_trip_every_published_year():
    for year, schedule in WorkingCalendar.default().schedules.items():
        again = parse_calendar_file(format_calendar_file(schedule), "download")

        assert (again.year, again.holidays, again.workdays) == (
            year,
            schedule.holidays,
            schedule.workdays,
        )


def test_format_calendar_file_splits_long_blocks():
    long_block = {
        date(2030, 1, 1) + timedelta(days=n): "national_day" for n in range(90)
    }
    schedule = YearSchedule(2030, long_block, {}, "test")

    again = parse_calendar_file(format_calendar_file(schedule), "download")

    assert again.holidays == schedule.holidays
