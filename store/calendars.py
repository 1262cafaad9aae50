"""The working calendar as stored: versions, loads and deadline recomputation."""

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date
from threading import Lock
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from domain.calendar import (
    WorkingCalendar,
    YearSchedule,
    schedules_from_chinese_calendar,
)
from domain.calendar_file import format_calendar_file, parse_calendar_file
from domain.deadlines import Deadline as ComputedDeadline
from domain.deadlines import PeriodKind, compute_deadline
from store import audit
from store.cases import add_case_event
from store.models import (
    CalendarSchedule,
    Case,
    Deadline,
    DeadlineChange,
    DeadlineStatus,
    Task,
    TaskStatus,
)

_cache_lock = Lock()
# One entry per database engine: a process normally has one, tests many, and
# an engine's entry goes with it.
_cached: "WeakKeyDictionary[Engine, WorkingCalendar]" = WeakKeyDictionary()


# Built once: asked on every request that shows a deadline.
_NEWEST = select(func.max(CalendarSchedule.id))


def current_version(session: Session) -> int:
    newest: int | None = session.connection().execute(_NEWEST).scalar()
    return newest or 0


def load_calendar(session: Session) -> WorkingCalendar:
    """The calendar of the newest loads, cached until a new load arrives.

    Before anything was stored (a database not yet seeded) the packaged
    schedules serve, as version 0.
    """
    version = current_version(session)
    database = session.get_bind().engine
    with _cache_lock:
        cached = _cached.get(database)
        if cached is not None and cached.version == version:
            return cached
    if version == 0:
        calendar = WorkingCalendar.default()
    else:
        newest = (
            select(func.max(CalendarSchedule.id))
            .group_by(col(CalendarSchedule.year))
            .scalar_subquery()
        )
        rows = session.exec(
            select(CalendarSchedule).where(col(CalendarSchedule.id).in_(newest))
        ).all()
        # The stored text is what was loaded; the row keeps its provenance.
        schedules = {
            row.year: replace(parse_calendar_file(row.content, ""), source=row.source)
            for row in rows
        }
        calendar = WorkingCalendar(schedules, version)
    with _cache_lock:
        _cached[database] = calendar
    return calendar


def _store(
    session: Session, schedule: YearSchedule, loaded_by: int | None
) -> CalendarSchedule:
    content = format_calendar_file(schedule)
    row = CalendarSchedule(
        year=schedule.year,
        source=schedule.source,
        loaded_by=loaded_by,
        checksum=hashlib.sha256(content.encode()).hexdigest(),
        content=content,
    )
    session.add(row)
    session.flush()
    return row


def import_packaged_schedules(session: Session) -> list[int]:
    """Store the years the chinese-calendar package publishes and we lack."""
    known = set(session.exec(select(CalendarSchedule.year)).all())
    added = []
    for year, schedule in sorted(schedules_from_chinese_calendar().items()):
        if year in known:
            continue
        row = _store(session, schedule, loaded_by=None)
        added.append(year)
        audit.record(
            session,
            actor_id=None,
            action="calendar.loaded",
            object_type="calendar_schedule",
            object_id=row.id or 0,
            details={"year": year, "source": schedule.source},
        )
    return added


@dataclass(frozen=True)
class DeadlineMove:
    """One open deadline whose date or provisional mark changed."""

    deadline_id: int
    case_ref: str | None
    old_due_date: date
    new_due_date: date
    old_provisional: bool
    new_provisional: bool


@dataclass(frozen=True)
class LoadResult:
    """What a load did; plain values, usable after the session has closed."""

    year: int
    schedule_id: int
    version: int
    recomputed: int
    moves: list[DeadlineMove]


def load_schedule_file(
    session: Session, text: str, file_name: str, loaded_by: int | None
) -> LoadResult:
    """Load an uploaded year; raises CalendarFileError naming the bad line."""
    schedule = parse_calendar_file(text, f"upload: {file_name}")
    return load_schedule(session, schedule, loaded_by)


def load_schedule(
    session: Session, schedule: YearSchedule, loaded_by: int | None
) -> LoadResult:
    """Store a year's schedule and recompute every open deadline (§1)."""
    row = _store(session, schedule, loaded_by)
    assert row.id is not None
    audit.record(
        session,
        actor_id=loaded_by,
        action="calendar.loaded",
        object_type="calendar_schedule",
        object_id=row.id,
        details={"year": schedule.year, "source": schedule.source},
    )
    calendar = load_calendar(session)
    moves = recompute_open_deadlines(
        session,
        calendar,
        reason=f"calendar {schedule.year} loaded ({schedule.source})",
        actor_id=loaded_by,
    )
    recomputed = session.exec(
        select(func.count()).where(Deadline.status == DeadlineStatus.OPEN)
    ).one()
    return LoadResult(schedule.year, row.id, calendar.version, recomputed, moves)


def recompute_open_deadlines(
    session: Session, calendar: WorkingCalendar, *, reason: str, actor_id: int | None
) -> list[DeadlineMove]:
    """Recompute open deadlines on `calendar`; record each that changes."""
    moves: list[DeadlineMove] = []
    open_deadlines = session.exec(
        select(Deadline).where(Deadline.status == DeadlineStatus.OPEN)
    ).all()
    for row in open_deadlines:
        if row.kind == PeriodKind.FIXED_DATE:
            continue  # a fixed date does not depend on the calendar
        fresh = compute_deadline(
            PeriodKind(row.kind), row.start_date, row.amount, calendar, row.basis
        )
        row.calendar_version = calendar.version
        if fresh.due_date == row.due_date and fresh.provisional == row.provisional:
            continue
        moves.append(record_move(session, row, fresh, reason=reason, actor_id=actor_id))
    return moves


def record_move(
    session: Session,
    row: Deadline,
    fresh: ComputedDeadline,
    *,
    reason: str,
    actor_id: int | None,
) -> DeadlineMove:
    """Apply a recomputed deadline and record the move where people see it.

    The change goes to the deadline's history, the audit log, the case's
    timeline and the due instant of the tasks that wait on it (procedures.md
    §1: old date, new date, reason).
    """
    assert row.id is not None
    move = DeadlineMove(
        deadline_id=row.id,
        case_ref=row.case_ref,
        old_due_date=row.due_date,
        new_due_date=fresh.due_date,
        old_provisional=row.provisional,
        new_provisional=fresh.provisional,
    )
    session.add(
        DeadlineChange(
            deadline_id=row.id,
            old_due_date=row.due_date,
            new_due_date=fresh.due_date,
            old_provisional=row.provisional,
            new_provisional=fresh.provisional,
            reason=reason,
            calendar_version=fresh.calendar_version,
        )
    )
    details = {
        "deadline_id": str(row.id),
        "subject": row.subject,
        "old_due_date": row.due_date.isoformat(),
        "new_due_date": fresh.due_date.isoformat(),
        "reason": reason,
    }
    audit.record(
        session,
        actor_id=actor_id,
        action="deadline.recomputed",
        object_type="deadline",
        object_id=row.id,
        details={"case_ref": row.case_ref, **details},
    )
    _apply(row, fresh)
    session.add(row)
    for task in session.exec(
        select(Task).where(
            Task.deadline_id == row.id,
            col(Task.status).in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
        )
    ):
        task.due_at = row.due_at
        session.add(task)
    if row.case_ref is not None:
        case = session.exec(select(Case).where(Case.ref == row.case_ref)).first()
        if case is not None and case.id is not None:
            add_case_event(
                session,
                case_id=case.id,
                kind="deadline.moved",
                actor_id=actor_id,
                details=details,
            )
    return move


def _apply(row: Deadline, computed: ComputedDeadline) -> None:
    row.due_date = computed.due_date
    row.due_at = computed.due_at
    row.provisional = computed.provisional
    row.calendar_version = computed.calendar_version
    row.skipped = json.dumps(
        [[day.day.isoformat(), day.reason] for day in computed.skipped]
    )


def open_deadline(
    session: Session,
    *,
    subject: str,
    computed: ComputedDeadline,
    case_ref: str | None = None,
    organisation_id: int | None = None,
    key: str | None = None,
) -> Deadline:
    """Record a computed deadline in the read model."""
    row = Deadline(
        key=key,
        case_ref=case_ref,
        subject=subject,
        organisation_id=organisation_id,
        kind=computed.kind.value,
        start_date=computed.start,
        amount=computed.amount,
        basis=computed.basis,
        due_date=computed.due_date,
        due_at=computed.due_at,
        original_due_date=computed.due_date,
    )
    _apply(row, computed)
    session.add(row)
    session.flush()
    return row


def next_year_missing(calendar: WorkingCalendar, today: date) -> int | None:
    """The coming year when it has no schedule and 1 November has passed."""
    upcoming = today.year + 1
    if (today.month, today.day) >= (11, 1) and not calendar.is_published(upcoming):
        return upcoming
    return None
