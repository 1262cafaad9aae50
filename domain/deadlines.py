"""Deadlines of the four period kinds (procedures §1).

Every deadline names its kind and its legal basis, ends at 24:00 (Asia/Shanghai)
of its last day, records the days it skipped and the calendar version it was
computed with, and is provisional (暂定) when it depends on a day of a year whose
holiday schedule is not yet published.
"""

from __future__ import annotations

import calendar as gregorian
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar, holiday_name

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Bounds that catch a unit mix-up (days for months, a year for a count) before
# it becomes a deadline ten years away.
MAX_DAYS = 3660
MAX_MONTHS = 1200

# No official calendar has anywhere near this many rest days in a row; reaching
# it means the loaded schedules are broken, not that the deadline is far away.
_MAX_CONSECUTIVE_REST_DAYS = 366

_ONE_DAY = timedelta(days=1)


class PeriodKind(StrEnum):
    """How a period is counted (procedures §1)."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"
    YEARS = "years"
    FIXED_DATE = "fixed_date"


def basis_label(basis: str, language: str = "zh") -> str:
    """A legal basis as a reader of `language` cites it.

    Bases are written in English in the code ("art. 76" of the guideline,
    "Civil Code art. 201, 203"); Chinese readers see 《工作指引》第76条 and
    《民法典》第201、203条.
    """
    if language == "en":
        return basis
    match = re.fullmatch(r"(Civil Code )?art\. ([0-9, ()]+)", basis.strip())
    if match is None:
        return _ZH_BASIS.get(basis, basis)
    law = "《民法典》" if match.group(1) else "《工作指引》"
    numbers = "、".join(n.strip() for n in match.group(2).split(","))
    return f"{law}第{numbers}条"


_ZH_BASIS = {"procedures §1": "期限计算规则", "fixed date": "固定日期"}

# The counting rule's own legal basis, used when the caller names none.
DEFAULT_BASIS: dict[PeriodKind, str] = {
    PeriodKind.WORKING_DAYS: "procedures §1",
    PeriodKind.CALENDAR_DAYS: "Civil Code art. 201, 203",
    PeriodKind.MONTHS: "Civil Code art. 202",
    PeriodKind.YEARS: "Civil Code art. 202",
    PeriodKind.FIXED_DATE: "fixed date",
}


@dataclass(frozen=True)
class SkippedDay:
    """A rest day that a deadline passed over."""

    day: date
    # A holiday key or "weekend".
    reason: str


@dataclass(frozen=True)
class Deadline:
    """A computed deadline with everything needed to explain it."""

    kind: PeriodKind
    # The day of the triggering event (not counted), or the fixed date itself.
    start: date
    amount: int
    basis: str
    # The last day of the period.
    due_date: date
    # 24:00 of due_date, i.e. 00:00 of the next day, in Asia/Shanghai.
    due_at: datetime
    provisional: bool
    provisional_years: tuple[int, ...]
    calendar_version: int
    skipped: tuple[SkippedDay, ...]
    # Calendar days only: the raw last day when it was a rest day and the
    # deadline moved to the next working day (Civil Code art. 203).
    rolled_from: date | None

    def is_overdue(self, now: datetime) -> bool:
        """Tell whether the deadline has passed at the given aware instant."""
        return now >= self.due_at

    def skipped_ranges(self) -> list[tuple[date, date, tuple[str, ...]]]:
        """Group the skipped days into runs of consecutive days with their reasons."""
        ranges: list[tuple[date, date, tuple[str, ...]]] = []
        for skipped in self.skipped:
            if ranges and ranges[-1][1] + _ONE_DAY == skipped.day:
                first, _, reasons = ranges[-1]
                if skipped.reason not in reasons:
                    reasons = (*reasons, skipped.reason)
                ranges[-1] = (first, skipped.day, reasons)
            else:
                ranges.append((skipped.day, skipped.day, (skipped.reason,)))
        return ranges

    def explain(self, locale: str = "zh") -> str:
        """Explain in one line how the deadline was counted, in "zh" or "en"."""
        en = locale == "en"
        parts = [self._explain_count(en)]
        if self.kind in (PeriodKind.WORKING_DAYS, PeriodKind.CALENDAR_DAYS):
            parts.extend(self._explain_days(en))
        if self.provisional:
            years = (", " if en else "、").join(map(str, self.provisional_years))
            if en:
                parts.append(f"provisional: no published holiday schedule for {years}")
            else:
                parts.append(f"暂定：{years}年节假日安排尚未公布")
        return "; ".join(parts) if en else "；".join(parts)

    def _basis(self, en: bool) -> str:
        return basis_label(self.basis, "en" if en else "zh")

    def _explain_count(self, en: bool) -> str:
        due = self.due_date.isoformat()
        start = self.start.isoformat()
        if self.kind is PeriodKind.FIXED_DATE:
            if en:
                return f"fixed date ({self._basis(en)}): by {due} at 24:00"
            return f"固定日期（{self._basis(en)}）：{due} 24时前"

        period = _period_words(self.kind, self.amount, en)
        if self.kind in (PeriodKind.MONTHS, PeriodKind.YEARS):
            clamped = self.due_date.day != self.start.day
            if en:
                text = (
                    f"{period} ({self._basis(en)}) from {start}, ending {due} at 24:00"
                )
                if clamped:
                    text += (
                        f" (that month has no day {self.start.day}, so its last day;"
                        " Civil Code art. 202)"
                    )
                return text
            text = f"{period}（{self._basis(en)}）：自{start}起算，至{due} 24时届满"
            if clamped:
                text += (
                    f"（该月无{self.start.day}日，以月末日为最后一日，"
                    "《民法典》第202条）"
                )
            return text

        if en:
            return (
                f"{period} ({self._basis(en)}) from the day after {start},"
                f" due {due} at 24:00"
            )
        return f"{period}（{self._basis(en)}）：自{start}次日起算，截至{due} 24时"

    def _explain_days(self, en: bool) -> list[str]:
        parts: list[str] = []
        if self.rolled_from is not None:
            raw_reason = self.skipped[0].reason if self.skipped else "weekend"
            raw = self.rolled_from.isoformat()
            name = holiday_name(raw_reason, "en" if en else "zh")
            due = self.due_date.isoformat()
            if en:
                parts.append(
                    f"day {self.amount} is {raw} ({name}), moved to the first working"
                    f" day {due} (Civil Code art. 203)"
                )
            else:
                parts.append(
                    f"第{self.amount}日{raw}为{name}，顺延至其后第一个工作日{due}"
                    "（《民法典》第203条）"
                )
        elif self.kind is PeriodKind.WORKING_DAYS and self.skipped:
            ranges = []
            for first, last, reasons in self.skipped_ranges():
                names = [holiday_name(r, "en" if en else "zh") for r in reasons]
                if en:
                    span = first.isoformat()
                    if last != first:
                        span += f" to {last.isoformat()}"
                    ranges.append(f"{span} ({', '.join(names)})")
                else:
                    span = first.isoformat()
                    if last != first:
                        span += f"至{last.isoformat()}"
                    ranges.append(f"{span}（{'、'.join(names)}）")
            if en:
                parts.append("skipped " + ", ".join(ranges))
            else:
                parts.append("跳过 " + "、".join(ranges))
        return parts


def _period_words(kind: PeriodKind, amount: int, en: bool) -> str:
    """Return e.g. "7个工作日" or "7 working days"."""
    zh_unit, en_unit = {
        PeriodKind.WORKING_DAYS: ("个工作日", "working day"),
        PeriodKind.CALENDAR_DAYS: ("日", "day"),
        PeriodKind.MONTHS: ("个月", "month"),
        PeriodKind.YEARS: ("年", "year"),
    }[kind]
    if en:
        return f"{amount} {en_unit}" + ("" if amount == 1 else "s")
    return f"{amount}{zh_unit}"


def end_of_day(day: date) -> datetime:
    """Return 24:00 of the day in Asia/Shanghai, i.e. 00:00 of the next day."""
    return datetime.combine(day + _ONE_DAY, time(0), tzinfo=SHANGHAI)


def _check_amount(kind: PeriodKind, amount: int) -> None:
    if amount < 1:
        raise ValueError(f"a period of {kind.value} needs an amount of at least 1")
    if kind in (PeriodKind.WORKING_DAYS, PeriodKind.CALENDAR_DAYS):
        if amount > MAX_DAYS:
            raise ValueError(f"{amount} {kind.value} is more than {MAX_DAYS} days")
    elif kind is PeriodKind.MONTHS and amount > MAX_MONTHS:
        raise ValueError(f"{amount} months is more than {MAX_MONTHS} months")
    elif kind is PeriodKind.YEARS and amount * 12 > MAX_MONTHS:
        raise ValueError(f"{amount} years is more than {MAX_MONTHS // 12} years")


def add_months(start: date, months: int) -> date:
    """Return the corresponding day `months` later, clamped to the month's end."""
    # Civil Code art. 202: the period ends on the day of the last month with the
    # same number as the start day, or on that month's last day if it has none.
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last_day = gregorian.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


def add_working_days(start: date, amount: int, calendar: WorkingCalendar) -> date:
    """Return the amount-th working day after start (start itself not counted)."""
    return compute_deadline(PeriodKind.WORKING_DAYS, start, amount, calendar).due_date


def next_working_day(day: date, calendar: WorkingCalendar) -> date:
    """Return the day itself if it is a working day, else the first one after it."""
    for _ in range(_MAX_CONSECUTIVE_REST_DAYS):
        if calendar.is_working_day(day):
            return day
        day += _ONE_DAY
    raise ValueError(f"no working day within a year of {day}: check the calendar")


def count_working_days(after: date, through: date, calendar: WorkingCalendar) -> int:
    """Count the working days after `after` up to and including `through`."""
    return calendar.working_days_between(after, through)


def remaining_working_days(today: date, due: date, calendar: WorkingCalendar) -> int:
    """Return the working days left before a deadline, negative when overdue.

    A deadline due in the future gives the working days from the day after
    today up to and including the due date (0 when none is left, e.g. due on
    Sunday and today is Friday). Due today gives 0, since it ends at 24:00.
    Overdue gives minus the working days from the day after the due date up to
    and including today, and at least -1, so the value never decreases as the
    due date moves later and inboxes can sort by it.
    """
    if due >= today:
        return count_working_days(today, due, calendar)
    return -max(1, count_working_days(due, today, calendar))


def _provisional_years(
    first: date, last: date, calendar: WorkingCalendar
) -> tuple[int, ...]:
    """Return the unpublished years among the days first..last that were consulted."""
    return tuple(
        year
        for year in range(first.year, last.year + 1)
        if not calendar.is_published(year)
    )


def compute_deadline(
    kind: PeriodKind,
    start: date,
    amount: int,
    calendar: WorkingCalendar,
    basis: str | None = None,
) -> Deadline:
    """Compute a deadline of the given kind from the day of the event."""
    kind = PeriodKind(kind)
    basis = basis or DEFAULT_BASIS[kind]
    if kind is PeriodKind.FIXED_DATE:
        # The fixed date is the start; there is nothing to count.
        return fixed_deadline(start, calendar, basis)
    _check_amount(kind, amount)

    skipped: list[SkippedDay] = []
    rolled_from: date | None = None
    if kind is PeriodKind.WORKING_DAYS:
        # procedures §1: count only working days, from the first working day
        # after the day of receipt.
        due, counted, rest_run = start, 0, 0
        while counted < amount:
            due += _ONE_DAY
            status = calendar.day_status(due)
            if status.working:
                counted, rest_run = counted + 1, 0
            else:
                skipped.append(SkippedDay(due, status.reason or "weekend"))
                rest_run += 1
                if rest_run >= _MAX_CONSECUTIVE_REST_DAYS:
                    raise ValueError(f"no working day within a year of {due}")
        consulted = (start + _ONE_DAY, due)
    elif kind is PeriodKind.CALENDAR_DAYS:
        # Civil Code art. 201: the event day is not counted, day 1 is the next.
        raw = start + timedelta(days=amount)
        due = raw
        # Civil Code art. 203: a last day that is a rest day moves to the first
        # working day after it.
        for _ in range(_MAX_CONSECUTIVE_REST_DAYS):
            status = calendar.day_status(due)
            if status.working:
                break
            skipped.append(SkippedDay(due, status.reason or "weekend"))
            due += _ONE_DAY
        else:
            raise ValueError(
                f"no working day within a year of {raw}: check the calendar"
            )
        rolled_from = raw if due != raw else None
        consulted = (raw, due)
    else:
        # Civil Code art. 202; no roll-forward, as the worked example of
        # procedures §1 ends on Sunday 2027-02-28. The calendar is not consulted,
        # so the result is never provisional.
        months = amount if kind is PeriodKind.MONTHS else amount * 12
        due = add_months(start, months)
        consulted = None

    provisional_years = (
        _provisional_years(*consulted, calendar) if consulted is not None else ()
    )
    return Deadline(
        kind=kind,
        start=start,
        amount=amount,
        basis=basis,
        due_date=due,
        due_at=end_of_day(due),
        provisional=bool(provisional_years),
        provisional_years=provisional_years,
        calendar_version=calendar.version,
        skipped=tuple(skipped),
        rolled_from=rolled_from,
    )


def fixed_deadline(
    day: date, calendar: WorkingCalendar, basis: str | None = None
) -> Deadline:
    """Return a deadline at the end of a fixed day (e.g. 12月31日前)."""
    return Deadline(
        kind=PeriodKind.FIXED_DATE,
        start=day,
        amount=0,
        basis=basis or DEFAULT_BASIS[PeriodKind.FIXED_DATE],
        due_date=day,
        due_at=end_of_day(day),
        provisional=False,
        provisional_years=(),
        calendar_version=calendar.version,
        skipped=(),
        rolled_from=None,
    )
