"""Inbox queries: my tasks, my groups' queue, a supervisor's whole office."""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from api.access import Actor
from domain.calendar import WorkingCalendar
from domain.complaints import CATEGORY_NAMES, STEP_NAMES, Category, Step, label
from domain.deadlines import SHANGHAI, basis_label, end_of_day, next_working_day
from domain.escalation import REMINDER_LEAD, remaining_including, urgency
from store.calendars import load_calendar
from store.models import (
    Case,
    Compound,
    Deadline,
    Organisation,
    Role,
    Task,
    TaskStatus,
    User,
)

LIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED)
SCOPES = ("mine", "group", "all")
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox is asked for; every field is optional."""

    scope: str = "mine"
    procedure: str | None = None
    step: str | None = None
    status: str | None = None
    organisation_id: int | None = None
    due_before: date | None = None
    overdue: bool = False
    at_risk: bool = False
    sort: str = "due"  # due | remaining (the same order: see below)
    page: int = 1
    size: int = 50


@dataclass(frozen=True)
class InboxPage:
    items: list[dict[str, Any]]
    total: int
    page: int
    size: int


def at_risk_limit(now: datetime, calendar: WorkingCalendar) -> datetime:
    """Due before this instant and not yet overdue means at risk (amber).

    At risk is two working days or less, counting today (the reminder rung).
    """
    day = now.astimezone(SHANGHAI).date()
    counted = 0
    while True:
        day = next_working_day(day, calendar)
        counted += 1
        if counted == REMINDER_LEAD:
            return end_of_day(day)
        day += timedelta(days=1)


@lru_cache(maxsize=256)
def _basis_label(basis: str, language: str) -> str:
    return basis_label(basis, language)


@lru_cache(maxsize=1024)
def _skipped(text: str) -> tuple[tuple[str, str], ...]:
    """A deadline's skipped days, parsed once: deadlines of a day share them."""
    return tuple(tuple(day) for day in json.loads(text))


@lru_cache(maxsize=256)
def _step_name(step: str, language: str) -> str:
    try:
        return label(STEP_NAMES, Step(step), language)
    except ValueError:
        return step


@lru_cache(maxsize=256)
def _category_name(category: str, language: str) -> str:
    try:
        return label(CATEGORY_NAMES, Category(category), language)
    except ValueError:
        return category


def inbox(
    session: Session,
    actor: Actor,
    wanted: InboxFilter,
    now: datetime,
    language: str = "zh",
    calendar: WorkingCalendar | None = None,
) -> InboxPage:
    """One page of the actor's tasks, soonest due first.

    A page shows a handful of rows, so the rows are read as plain columns in
    one query (no ORM objects) and counted only when the page is full. The
    query is built once for each combination of filters in use; the values
    are its parameters.
    """
    if calendar is None:
        calendar = load_calendar(session)
    scope = wanted.scope
    if scope == "all" and actor.role not in (Role.SUPERVISOR, Role.ADMINISTRATOR):
        scope = "mine"
    statuses = {s.value for s in TaskStatus}
    shape = _Shape(
        scope=scope,
        one_status=wanted.status in statuses,
        procedure=bool(wanted.procedure),
        step=bool(wanted.step),
        organisation=wanted.organisation_id is not None,
        due_before=wanted.due_before is not None,
        overdue=wanted.overdue,
        at_risk=wanted.at_risk,
    )
    size = max(1, min(wanted.size, MAX_PAGE_SIZE))
    page = max(1, wanted.page)
    params: dict[str, Any] = {
        "status": wanted.status,
        "org_id": actor.organisation.id,
        "role": actor.role,
        "actor_id": actor.id,
        "path": actor.jurisdiction.path,
        "procedure": wanted.procedure,
        "step": wanted.step,
        "organisation_id": wanted.organisation_id,
        "due_before": end_of_day(wanted.due_before) if wanted.due_before else None,
        "now": now,
        "at_risk_until": at_risk_limit(now, calendar) if wanted.at_risk else None,
        "offset": (page - 1) * size,
        "limit": size,
    }
    rows_query, count_query = _statements(shape)
    # Plain rows from the connection: the ORM's result handling is not
    # needed for columns and costs more than the query on a small page.
    connection = session.connection()
    rows = connection.execute(rows_query, params).all()
    if page == 1 and len(rows) < size:
        total = len(rows)  # everything is on this first page
    else:
        total = connection.execute(count_query, params).scalar_one()
    today = now.astimezone(SHANGHAI).date()
    due_days: dict[date, tuple[int, str]] = {}
    items = []
    for row in rows:
        item: dict[str, Any] = {
            "task_id": row.id,
            "case_ref": row.case_ref,
            "procedure": row.procedure,
            "step": row.step,
            "step_name": _step_name(row.step, language),
            "status": str(row.status),
            "version": row.version,
            "assignee": row.holder or "",
            "category": row.category,
            "category_name": _category_name(row.category, language),
            "compound": row.compound or "",
            "due_at": _instant(row.due_at),
            "due_date": None,
            "remaining_working_days": None,
            "urgency": "normal",
            "deadline": None,
        }
        due_date: date | None = row.due_date
        if due_date is not None:
            if due_date not in due_days:
                due_days[due_date] = _days_left(now, today, due_date, calendar)
            remaining, urgent = due_days[due_date]
            item["due_date"] = due_date.isoformat()
            item["remaining_working_days"] = remaining
            item["urgency"] = urgent
            item["deadline"] = {
                "kind": row.kind,
                "amount": row.amount,
                "basis": row.basis,
                "basis_label": _basis_label(row.basis, language),
                "provisional": row.provisional,
                "original_due_date": row.original_due_date.isoformat(),
                "skipped": [list(day) for day in _skipped(row.skipped)],
            }
        items.append(item)
    return InboxPage(items=items, total=total, page=page, size=size)


@dataclass(frozen=True)
class _Shape:
    """Which filters a query uses: each shape is built once."""

    scope: str
    one_status: bool
    procedure: bool
    step: bool
    organisation: bool
    due_before: bool
    overdue: bool
    at_risk: bool


@lru_cache(maxsize=512)
def _statements(shape: _Shape) -> tuple[Any, Any]:
    """The rows query of a shape (one page, soonest due first) and its count."""
    query = (
        sa_select(*_COLUMNS)
        .join(Case, col(Case.id) == col(Task.case_id))
        .join(Compound, col(Compound.id) == col(Case.compound_id), isouter=True)
        .join(Deadline, col(Deadline.id) == col(Task.deadline_id), isouter=True)
        .join(_HOLDER, col(_HOLDER.id) == col(Task.assignee_id), isouter=True)
    )
    if shape.one_status:
        query = query.where(col(Task.status) == bindparam("status"))
    else:
        query = query.where(col(Task.status).in_(LIVE))
    if shape.scope == "group":
        query = query.where(
            col(Task.status) == TaskStatus.OPEN,
            col(Task.assignee_id).is_(None),
            col(Task.candidate_org_id) == bindparam("org_id"),
            col(Task.candidate_role) == bindparam("role"),
        )
    elif shape.scope == "all":
        inside = select(Organisation.id).where(
            col(Organisation.path).startswith(bindparam("path"))
        )
        query = query.where(col(Task.candidate_org_id).in_(inside))
    else:
        query = query.where(col(Task.assignee_id) == bindparam("actor_id"))
    if shape.procedure:
        query = query.where(col(Task.procedure) == bindparam("procedure"))
    if shape.step:
        query = query.where(col(Task.step) == bindparam("step"))
    if shape.organisation:
        query = query.where(col(Task.candidate_org_id) == bindparam("organisation_id"))
    if shape.due_before:
        query = query.where(col(Task.due_at) < bindparam("due_before"))
    if shape.overdue:
        query = query.where(col(Task.due_at) <= bindparam("now"))
    if shape.at_risk:
        query = query.where(
            col(Task.due_at) > bindparam("now"),
            col(Task.due_at) <= bindparam("at_risk_until"),
        )
    count = sa_select(func.count()).select_from(query.subquery())
    # Remaining working days never decrease as the due date gets later, so
    # sorting by the due instant is sorting by remaining working days too.
    rows = (
        query.order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.id))
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    return rows, count


_HOLDER = aliased(User, name="holder")
# What an inbox row shows, the assignee's name among it.
_COLUMNS: tuple[Any, ...] = (
    col(Task.id),
    col(Task.case_ref),
    col(Task.procedure),
    col(Task.step),
    col(Task.status),
    col(Task.version),
    col(Task.due_at),
    col(Case.category),
    col(Compound.name).label("compound"),
    col(Deadline.due_date),
    col(Deadline.kind),
    col(Deadline.amount),
    col(Deadline.basis),
    col(Deadline.provisional),
    col(Deadline.original_due_date),
    col(Deadline.skipped),
    col(_HOLDER.display_name).label("holder"),
)


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _days_left(
    now: datetime, today: date, due_date: date, calendar: WorkingCalendar
) -> tuple[int, str]:
    """Working days left (negative: overdue by) and the urgency of a due date."""
    if due_date >= today:
        remaining = remaining_including(today, due_date, calendar)
    else:
        remaining = -remaining_including(due_date + timedelta(days=1), today, calendar)
    return remaining, urgency(now, due_date, calendar).value
