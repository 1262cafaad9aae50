"""Inbox queries: my tasks, my groups' queue, a supervisor's whole office."""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
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


def _step_name(step: str, language: str) -> str:
    try:
        return label(STEP_NAMES, Step(step), language)
    except ValueError:
        return step


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
    one query (no ORM objects) and counted only when the page is full.
    """
    if calendar is None:
        calendar = load_calendar(session)
    query = (
        sa_select(*_COLUMNS)
        .join(Case, col(Case.id) == col(Task.case_id))
        .join(Compound, col(Compound.id) == col(Case.compound_id), isouter=True)
        .join(Deadline, col(Deadline.id) == col(Task.deadline_id), isouter=True)
        .join(_HOLDER, col(_HOLDER.id) == col(Task.assignee_id), isouter=True)
    )
    if wanted.status in {s.value for s in TaskStatus}:
        query = query.where(col(Task.status) == wanted.status)
    else:
        query = query.where(col(Task.status).in_(LIVE))
    if wanted.scope == "group":
        query = query.where(
            col(Task.status) == TaskStatus.OPEN,
            col(Task.assignee_id).is_(None),
            col(Task.candidate_org_id) == actor.organisation.id,
            col(Task.candidate_role) == actor.role,
        )
    elif wanted.scope == "all" and actor.role in (Role.SUPERVISOR, Role.ADMINISTRATOR):
        inside = select(Organisation.id).where(
            col(Organisation.path).startswith(actor.jurisdiction.path)
        )
        query = query.where(col(Task.candidate_org_id).in_(inside))
    else:
        query = query.where(col(Task.assignee_id) == actor.id)
    if wanted.procedure:
        query = query.where(col(Task.procedure) == wanted.procedure)
    if wanted.step:
        query = query.where(col(Task.step) == wanted.step)
    if wanted.organisation_id is not None:
        query = query.where(col(Task.candidate_org_id) == wanted.organisation_id)
    if wanted.due_before is not None:
        query = query.where(col(Task.due_at) < end_of_day(wanted.due_before))
    if wanted.overdue:
        query = query.where(col(Task.due_at) <= now)
    if wanted.at_risk:
        query = query.where(
            col(Task.due_at) > now, col(Task.due_at) <= at_risk_limit(now, calendar)
        )
    size = max(1, min(wanted.size, MAX_PAGE_SIZE))
    page = max(1, wanted.page)
    # Remaining working days never decrease as the due date gets later, so
    # sorting by the due instant is sorting by remaining working days too.
    # Plain rows from the connection: the ORM's result handling is not
    # needed for columns and costs more than the query on a small page.
    rows = (
        session.connection()
        .execute(
            query.order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.id))
            .offset((page - 1) * size)
            .limit(size)
        )
        .all()
    )
    if page == 1 and len(rows) < size:
        total = len(rows)  # everything is on this first page
    else:
        total = (
            session.connection()
            .execute(sa_select(func.count()).select_from(query.subquery()))
            .scalar_one()
        )
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
                "basis_label": basis_label(row.basis, language),
                "provisional": row.provisional,
                "original_due_date": row.original_due_date.isoformat(),
                "skipped": json.loads(row.skipped),
            }
        items.append(item)
    return InboxPage(items=items, total=total, page=page, size=size)


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
