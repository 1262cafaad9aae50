"""The working calendar: which days count as working days (procedures §1).

The calendar is data, not code. Each year published by the State Council's
yearly notice (国务院办公厅关于节假日安排的通知) is a `YearSchedule`, loaded from
the `chinese-calendar` package or from an administrator's calendar file. A year
with no published schedule falls back to the statutory holidays of the national
holiday regulation, and every day of it is marked provisional (暂定).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar
from lunardate import LunarDate

# Holiday key -> (Chinese, English) label, as shown to caseworkers.
HOLIDAY_NAMES: dict[str, tuple[str, str]] = {
    "new_years_day": ("元旦", "New Year's Day"),
    "spring_festival": ("春节", "Spring Festival"),
    "tomb_sweeping_day": ("清明节", "Qingming Festival"),
    "labour_day": ("劳动节", "Labour Day"),
    "dragon_boat_festival": ("端午节", "Dragon Boat Festival"),
    "mid_autumn_festival": ("中秋节", "Mid-Autumn Festival"),
    "national_day": ("国庆节", "National Day"),
    # A one-off holiday of the 2015 notice, present in the published data.
    "anti_fascist_70th_day": ("抗战胜利70周年纪念日", "Victory Day (70th anniversary)"),
    "weekend": ("周末", "Weekend"),
    "adjusted_workday": ("调休上班日", "Adjusted working day"),
}

# Keys that name a holiday, as opposed to the two kinds of ordinary day.
HOLIDAY_KEYS: frozenset[str] = frozenset(HOLIDAY_NAMES) - {
    "weekend",
    "adjusted_workday",
}

# The years for which the provisional rule can be computed: lunardate converts
# lunar years 1900-2099 only, and chinese_calendar's solar terms stop at 2100.
PROVISIONAL_YEARS = range(1900, 2100)


def holiday_name(key: str, locale: str = "zh") -> str:
    """Return the label of a holiday key in Chinese ("zh") or English ("en")."""
    zh, en = HOLIDAY_NAMES.get(key, (key, key))
    return en if locale == "en" else zh


@dataclass(frozen=True)
class YearSchedule:
    """One year's official holiday schedule (节假日安排)."""

    year: int
    # Rest days declared by the notice -> holiday key. May include the last days
    # of December of the previous year (a New Year block such as 12/30-1/1).
    holidays: Mapping[date, str]
    # Adjusted working days (调休上班日): weekend days declared working -> the
    # key of the holiday they compensate.
    workdays: Mapping[date, str]
    source: str

    def __post_init__(self) -> None:
        # Copy so that a caller's later change to its dict cannot alter a
        # calendar already built from this schedule.
        object.__setattr__(self, "holidays", dict(sorted(self.holidays.items())))
        object.__setattr__(self, "workdays", dict(sorted(self.workdays.items())))


def _key_for_chinese_calendar(english_name: str) -> str:
    """Map chinese_calendar's English holiday name to a HOLIDAY_NAMES key."""
    return chinese_calendar.Holiday(english_name).name


def _schedule_year(day: date, key: str) -> int:
    """Return the year whose notice declares this day."""
    # The notice for year Y sets the New Year block, which may start in the
    # last days of December of Y-1 (e.g. 2023-12-30 in the 2024 notice).
    if day.month == 12 and key == "new_years_day":
        return day.year + 1
    return day.year


def schedules_from_chinese_calendar() -> dict[int, YearSchedule]:
    """Return every year published in the installed chinese_calendar package."""
    source = f"chinese-calendar {chinese_calendar.__version__}"
    holidays: dict[int, dict[date, str]] = {}
    workdays: dict[int, dict[date, str]] = {}

    for day, name in chinese_calendar.holidays.items():
        key = _key_for_chinese_calendar(name)
        holidays.setdefault(_schedule_year(day, key), {})[day] = key
    for day, name in chinese_calendar.workdays.items():
        key = _key_for_chinese_calendar(name)
        workdays.setdefault(_schedule_year(day, key), {})[day] = key

    # A year counts as published only when it has holidays of its own; a year
    # that merely holds the December days of the next notice does not.
    years = sorted(
        year for year, days in holidays.items() if any(day.year == year for day in days)
    )
    return {
        year: YearSchedule(
            year=year,
            holidays=holidays.get(year, {}),
            workdays=workdays.get(year, {}),
            source=source,
        )
        for year in years
    }


def _qingming(year: int) -> date:
    """Return the day of the solar term 清明 in the given year."""
    for day, name in chinese_calendar.get_solar_terms(
        date(year, 4, 1), date(year, 4, 30)
    ):
        if name == "清明":
            return day
    raise AssertionError(f"no 清明 in April {year}")  # pragma: no cover


def _lunar(year: int, month: int, day: int) -> date:
    """Convert a day of the lunar year that starts in this solar year."""
    return LunarDate(year, month, day).to_solar_date()


@functools.cache
def _statutory_holidays(year: int) -> tuple[tuple[date, str], ...]:
    days: dict[date, str] = {date(year, 1, 1): "new_years_day"}
    if year not in PROVISIONAL_YEARS:
        # Beyond the lunar tables only the solar-date holidays are known. A
        # deadline that far out is provisional anyway; it must not crash.
        for day in (date(year, 5, 1), date(year, 5, 2)):
            days[day] = "labour_day"
        for day_of_october in (1, 2, 3):
            days[date(year, 10, day_of_october)] = "national_day"
        return tuple(sorted(days.items()))

    # Four days from lunar New Year's Eve (除夕, the day before lunar 1/1) to
    # lunar 1/3. The lunar year starting in solar year Y begins in Jan/Feb of Y.
    lunar_new_year = _lunar(year, 1, 1)
    for offset in range(-1, 3):
        days[lunar_new_year + timedelta(days=offset)] = "spring_festival"

    days[_qingming(year)] = "tomb_sweeping_day"
    days[date(year, 5, 1)] = "labour_day"
    days[date(year, 5, 2)] = "labour_day"
    days[_lunar(year, 5, 5)] = "dragon_boat_festival"
    days[_lunar(year, 8, 15)] = "mid_autumn_festival"
    # Mid-Autumn can fall on 1 October (2020); the published data then names the
    # day National Day, so National Day is written last and wins.
    for day_of_october in (1, 2, 3):
        days[date(year, 10, day_of_october)] = "national_day"
    return tuple(sorted(days.items()))


def statutory_holidays(year: int) -> dict[date, str]:
    """Return the statutory rest days of a year with no published schedule."""
    # procedures §1 Decision: the national holiday regulation's days only,
    # without the bridging days and adjusted working days of a yearly notice.
    return dict(_statutory_holidays(year))


@dataclass(frozen=True)
class DayStatus:
    """Whether one day is a working day, and why not."""

    day: date
    working: bool
    # A holiday key, "weekend", "adjusted_workday" for a weekend day declared
    # working, or None for an ordinary weekday.
    reason: str | None
    # The day's year has no published schedule (暂定).
    provisional: bool


@dataclass(frozen=True)
class YearView:
    """One year of the calendar, as the calendar page shows it."""

    year: int
    published: bool
    # Where the schedule came from; None for a provisional year.
    source: str | None
    # Rest days other than weekends; for a provisional year the statutory ones.
    holidays: tuple[tuple[date, str], ...]
    workdays: tuple[tuple[date, str], ...]


def _days_of(year: int) -> Iterator[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class WorkingCalendar:
    """The working calendar built from the loaded yearly schedules."""

    schedules: Mapping[int, YearSchedule]
    # Identifies which loaded schedules this calendar reflects; stored with
    # every deadline so a later load can tell which deadlines are stale.
    version: int
    # Year -> (ordinal of 1 January, status of each day of the year).
    _days: dict[int, tuple[int, tuple[DayStatus, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # Year -> working days from 1 January up to and including each day, so
    # that counting the working days of any span costs two lookups (inboxes
    # count them for every row they show).
    _working_so_far: dict[int, tuple[int, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedules", dict(sorted(self.schedules.items())))

    @classmethod
    def default(cls) -> WorkingCalendar:
        """Return the calendar of the installed chinese_calendar data, version 0."""
        return cls(schedules_from_chinese_calendar(), version=0)

    def with_schedule(self, schedule: YearSchedule, version: int) -> WorkingCalendar:
        """Return a new calendar with the schedule's year replaced."""
        return WorkingCalendar({**self.schedules, schedule.year: schedule}, version)

    def is_published(self, year: int) -> bool:
        """Tell whether the year has an official schedule loaded."""
        return year in self.schedules

    def published_years(self) -> tuple[int, ...]:
        """Return the years with an official schedule, in order."""
        return tuple(self.schedules)

    def day_status(self, day: date) -> DayStatus:
        """Return whether the day is a working day, and why."""
        first_ordinal, days = self._year(day.year)
        return days[day.toordinal() - first_ordinal]

    def working_days_between(self, after: date, through: date) -> int:
        """Count the working days after `after` up to and including `through`."""
        if through <= after:
            return 0
        count = self._working_through(through) - self._working_through(after)
        for year in range(after.year, through.year):
            count += self._working_through(date(year, 12, 31))
        return count

    def _working_through(self, day: date) -> int:
        counts = self._working_so_far.get(day.year)
        if counts is None:
            _, days = self._year(day.year)
            counts = tuple(itertools.accumulate(int(d.working) for d in days))
            self._working_so_far[day.year] = counts
        return counts[day.timetuple().tm_yday - 1]

    def _year(self, year: int) -> tuple[int, tuple[DayStatus, ...]]:
        # Built on first use; two threads racing here build the same tuple.
        found = self._days.get(year)
        if found is None:
            found = (date(year, 1, 1).toordinal(), self._build_year(year))
            self._days[year] = found
        return found

    def is_working_day(self, day: date) -> bool:
        """Tell whether the day is a working day."""
        return self.day_status(day).working

    def year_view(self, year: int) -> YearView:
        """Return one year of the calendar for display."""
        schedule = self.schedules.get(year)
        if schedule is None:
            return YearView(
                year=year,
                published=False,
                source=None,
                holidays=tuple(sorted(statutory_holidays(year).items())),
                workdays=(),
            )
        return YearView(
            year=year,
            published=True,
            source=schedule.source,
            holidays=tuple(sorted(schedule.holidays.items())),
            workdays=tuple(sorted(schedule.workdays.items())),
        )

    def _build_year(self, year: int) -> tuple[DayStatus, ...]:
        """Compute the status of every day of a year once, for cheap lookups."""
        own = self.schedules.get(year)
        provisional = own is None
        # A date is looked up first in its own year's schedule (or, when that
        # year is unpublished, the statutory rule), then in the neighbouring
        # years' schedules: a notice may declare days of the adjacent year, such
        # as the 2024 notice's 2023-12-30. The own year's entry wins because its
        # notice is the one that speaks of that year; provisional still follows
        # the day's own year, as procedures §1 defines it.
        if own is not None:
            own_holidays, own_workdays = own.holidays, own.workdays
        else:
            own_holidays, own_workdays = statutory_holidays(year), {}
        neighbours = [
            schedule
            for schedule in (
                self.schedules.get(year + 1),
                self.schedules.get(year - 1),
            )
            if schedule is not None
        ]

        statuses = []
        for day in _days_of(year):
            working: bool | None = None
            reason: str | None = None
            for holidays, workdays in [
                (own_holidays, own_workdays),
                *((n.holidays, n.workdays) for n in neighbours),
            ]:
                if day in holidays:
                    working, reason = False, holidays[day]
                    break
                if day in workdays:
                    working = True
                    reason = "adjusted_workday" if day.weekday() >= 5 else None
                    break
            if working is None:
                working = day.weekday() < 5
                reason = None if working else "weekend"
            statuses.append(DayStatus(day, working, reason, provisional))
        return tuple(statuses)
