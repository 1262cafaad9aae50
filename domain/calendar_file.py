"""The calendar file: one year's official holiday schedule, as uploaded by an admin.

When the State Council publishes the next year's holiday schedule (usually in
November), an administrator writes it in this format and uploads it; the
working calendar then uses it instead of the provisional statutory rule
(procedures §1). An example of the form (the dates are illustrative, not an
official schedule)::

    # 国务院办公厅关于2027年部分节假日安排的通知（示例）
    year 2027
    source 国办发明电〔2026〕N号
    holiday 2027-01-01 new_years_day
    holiday 2027-02-06..2027-02-13 spring_festival
    workday 2027-02-14 spring_festival

The format, line by line (UTF-8 text):

- Blank lines are ignored. A line whose first non-blank character is ``#`` is a
  comment. On ``year``, ``holiday`` and ``workday`` lines, anything from a
  ``#`` on is a comment too.
- ``year YYYY``: the year of the notice, between 2000 and 2100. It must be the
  first line that is not blank or a comment, and appear exactly once.
- ``source TEXT``: optional, at most once; free text naming the notice, e.g. its
  document number. The rest of the line is kept as it is; the schedule's source
  becomes "TEXT (upload name)", or the upload name alone without this line.
- ``holiday DATE KEY`` or ``holiday DATE..DATE KEY``: one rest day, or every day
  of a range of at most 40 days (both ends included), declared by the notice,
  weekend days inside a holiday block included.
- ``workday DATE KEY``: one adjusted working day (调休上班日), a Saturday or a
  Sunday declared a working day; KEY names the holiday it makes up for.

DATE is written YYYY-MM-DD and must lie in the declared year or in the last
days of December of the year before (from 25 December, for a New Year block
such as 2023-12-30..2024-01-01). KEY is one of ``new_years_day`` (元旦),
``spring_festival`` (春节), ``tomb_sweeping_day`` (清明节), ``labour_day``
(劳动节), ``dragon_boat_festival`` (端午节), ``mid_autumn_festival`` (中秋节),
``national_day`` (国庆节), ``anti_fascist_70th_day``; the Chinese name is
accepted in its place. A day may be declared only once, and not both a holiday
and a working day. The file must declare at least one holiday. Weekends need
not be listed: every Saturday and Sunday that is not a ``workday`` is a rest day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from domain.calendar import HOLIDAY_KEYS, HOLIDAY_NAMES, YearSchedule

MIN_YEAR = 2000
MAX_YEAR = 2100
MAX_RANGE_DAYS = 40
# The earliest day of December of the previous year a notice may declare.
FIRST_DECEMBER_DAY = 25

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_KEY_BY_CHINESE = {HOLIDAY_NAMES[key][0]: key for key in HOLIDAY_KEYS}


def N_(message: str) -> str:
    """Mark a message for translation where it is shown (this module has none)."""
    return message


class _Problem(ValueError):
    """What is wrong with one line: an English template and its values."""

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = {name: str(value) for name, value in params.items()}
        super().__init__(template.format(**self.params))


class CalendarFileError(ValueError):
    """A calendar file line that cannot be accepted, with its line number.

    `template` and `params` let the page show the message in the reader's
    language; `str()` gives it in English.
    """

    def __init__(
        self, line_no: int, line: str, template: str, params: dict[str, str]
    ) -> None:
        # line_no is 1-based; 0 when the problem is with the file as a whole.
        self.line_no = line_no
        self.line = line
        self.template = template
        self.params = params
        self.message = template.format(**params)
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line_no == 0:
            return self.message
        return f"line {self.line_no}: {self.message}"


@dataclass
class _Parser:
    """The state of one parse; each method handles one kind of line."""

    year: int | None = None
    source_text: str | None = None
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)
    line_of: dict[date, int] = field(default_factory=dict)

    def parse_date(self, text: str) -> date:
        if not _DATE.fullmatch(text):
            raise _Problem(N_("'{text}' is not a date written YYYY-MM-DD"), text=text)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _Problem(N_("'{text}' is not a valid date"), text=text) from None
        assert self.year is not None
        first_allowed = date(self.year - 1, 12, FIRST_DECEMBER_DAY)
        if not first_allowed <= day <= date(self.year, 12, 31):
            raise _Problem(
                N_(
                    "{text} is outside {year} (only {first} to {last} of the"
                    " year before are allowed)"
                ),
                text=text,
                year=self.year,
                first=first_allowed,
                last=date(self.year - 1, 12, 31),
            )
        return day

    def parse_key(self, text: str) -> str:
        key = _KEY_BY_CHINESE.get(text, text)
        if key not in HOLIDAY_KEYS:
            known = ", ".join(sorted(HOLIDAY_KEYS))
            raise _Problem(
                N_("unknown holiday '{text}' (known: {known})"), text=text, known=known
            )
        return key

    def check_free(self, day: date, line_no: int) -> None:
        if day in self.holidays or day in self.workdays:
            template = (
                N_("{day} is already declared a holiday on line {line}")
                if day in self.holidays
                else N_("{day} is already declared a working day on line {line}")
            )
            raise _Problem(template, day=day, line=self.line_of[day])
        self.line_of[day] = line_no

    def year_line(self, words: list[str]) -> None:
        if self.year is not None:
            raise _Problem(N_("the year is declared twice"))
        if len(words) != 2 or not re.fullmatch(r"[0-9]{4}", words[1]):
            raise _Problem(N_("write the year as 'year YYYY'"))
        year = int(words[1])
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise _Problem(
                N_("year {year} is not between {min} and {max}"),
                year=year,
                min=MIN_YEAR,
                max=MAX_YEAR,
            )
        self.year = year

    def source_line(self, text: str) -> None:
        if self.source_text is not None:
            raise _Problem(N_("the source is declared twice"))
        if not text:
            raise _Problem(N_("write the source as 'source TEXT'"))
        self.source_text = text

    def holiday_line(self, words: list[str], line_no: int) -> None:
        if len(words) != 3:
            raise _Problem(N_("write a holiday as 'holiday DATE[..DATE] KEY'"))
        first_text, _, last_text = words[1].partition("..")
        first = self.parse_date(first_text)
        last = self.parse_date(last_text) if last_text else first
        if last < first:
            raise _Problem(
                N_("the range ends ({last}) before it starts ({first})"),
                last=last,
                first=first,
            )
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise _Problem(
                N_("a range may cover at most {days} days"), days=MAX_RANGE_DAYS
            )
        key = self.parse_key(words[2])
        day = first
        while day <= last:
            self.check_free(day, line_no)
            self.holidays[day] = key
            day += timedelta(days=1)

    def workday_line(self, words: list[str], line_no: int) -> None:
        if len(words) != 3:
            raise _Problem(N_("write an adjusted working day as 'workday DATE KEY'"))
        day = self.parse_date(words[1])
        if day.weekday() < 5:
            raise _Problem(
                N_(
                    "{day} is a weekday; an adjusted working day must be a"
                    " Saturday or Sunday"
                ),
                day=day,
            )
        key = self.parse_key(words[2])
        self.check_free(day, line_no)
        self.workdays[day] = key

    def line(self, line_no: int, line: str) -> None:
        keyword, *rest = line.split(None, 1)
        if self.year is None and keyword != "year":
            raise _Problem(N_("the first line must be 'year YYYY'"))
        if keyword == "source":
            self.source_line(rest[0].strip() if rest else "")
            return
        words = line.split("#", 1)[0].split()
        if keyword == "year":
            self.year_line(words)
        elif keyword == "holiday":
            self.holiday_line(words, line_no)
        elif keyword == "workday":
            self.workday_line(words, line_no)
        else:
            raise _Problem(
                N_(
                    "unknown keyword '{keyword}' (expected year, source, holiday"
                    " or workday)"
                ),
                keyword=keyword,
            )


def parse_calendar_file(text: str, source_name: str) -> YearSchedule:
    """Parse a calendar file; raise CalendarFileError naming the first bad line."""
    parser = _Parser()
    # A UTF-8 byte order mark is what some editors put first; it is no content.
    for line_no, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            parser.line(line_no, line)
        except _Problem as error:
            raise CalendarFileError(
                line_no, line, error.template, error.params
            ) from None

    if parser.year is None:
        raise CalendarFileError(
            0, "", N_("the file declares no year ('year YYYY')"), {}
        )
    if not parser.holidays:
        raise CalendarFileError(0, "", N_("the file declares no holiday"), {})
    source = source_name
    if parser.source_text:
        source = f"{parser.source_text} ({source_name})"
    return YearSchedule(
        year=parser.year,
        holidays=parser.holidays,
        workdays=parser.workdays,
        source=source,
    )


def format_calendar_file(schedule: YearSchedule) -> str:
    """Write a schedule in the calendar file format, holidays grouped into ranges."""
    lines = [
        f"# 国务院办公厅关于{schedule.year}年部分节假日安排的通知",
        f"year {schedule.year}",
    ]
    if schedule.source:
        lines.append("source " + " ".join(schedule.source.split()))

    # Consecutive days of one holiday become one range line.
    runs: list[tuple[date, date, str]] = []
    for day, key in sorted(schedule.holidays.items()):
        if runs and runs[-1][2] == key and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day, key)
        else:
            runs.append((day, day, key))
    for first, last, key in runs:
        # A long block is written as several lines, each within the range limit.
        while (last - first).days + 1 > MAX_RANGE_DAYS:
            block_end = first + timedelta(days=MAX_RANGE_DAYS - 1)
            lines.append(f"holiday {first}..{block_end} {key}")
            first = block_end + timedelta(days=1)
        span = first.isoformat()
        if last != first:
            span += f"..{last.isoformat()}"
        lines.append(f"holiday {span} {key}  # {HOLIDAY_NAMES[key][0]}")

    for day, key in sorted(schedule.workdays.items()):
        lines.append(f"workday {day.isoformat()} {key}  # {HOLIDAY_NAMES[key][0]}")
    return "\n".join(lines) + "\n"
