"""Inbox queries: my tasks, my groups' queue, a supervisor's whole office."""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
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


def _names(session: Session, user_ids: set[int | None]) -> dict[int, str]:
    wanted = [user_id for user_id in user_ids if user_id is not None]
    if not wanted:
        return {}
    rows = session.exec(
        select(User.id, User.display_name).where(col(User.id).in_(wanted))
    ).all()
    return {user_id: name for user_id, name in rows if user_id is not None}


def inbox(
    session: Session,
    actor: Actor,
    wanted: InboxFilter,
    now: datetime,
    language: str = "zh",
) -> InboxPage:
    """One page of the actor's tasks, soonest due first."""
    calendar = load_calendar(session)
    query = (
        select(Task, Case.category, Compound.name, Deadline)
        .join(Case, col(Case.id) == col(Task.case_id))
        .join(Compound, col(Compound.id) == col(Case.compound_id), isouter=True)
        .join(Deadline, col(Deadline.id) == col(Task.deadline_id), isouter=True)
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
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    size = max(1, min(wanted.size, MAX_PAGE_SIZE))
    page = max(1, wanted.page)
    # Remaining working days never decrease as the due date gets later, so
    # sorting by the due instant is sorting by remaining working days too.
    rows = session.exec(
        query.order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.id))
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    today = now.astimezone(SHANGHAI).date()
    holders = _names(session, {task.assignee_id for task, *_ in rows})
    items = []
    for task, category, compound, deadline in rows:
        holder = holders.get(task.assignee_id or 0)
        item: dict[str, Any] = {
            "task_id": task.id,
            "case_ref": task.case_ref,
            "procedure": task.procedure,
            "step": task.step,
            "step_name": _step_name(task.step, language),
            "status": task.status.value,
            "version": task.version,
            "assignee": holder or "",
            "category": category,
            "category_name": _category_name(category, language),
            "compound": compound or "",
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "due_date": None,
            "remaining_working_days": None,
            "urgency": "normal",
            "deadline": None,
        }
        if deadline is not None:
            item["due_date"] = deadline.due_date.isoformat()
            item["remaining_working_days"] = (
                remaining_including(today, deadline.due_date, calendar)
                if deadline.due_date >= today
                else -remaining_including(
                    deadline.due_date + timedelta(days=1), today, calendar
                )
            )
            item["urgency"] = urgency(now, deadline.due_date, calendar).value
            item["deadline"] = {
                "kind": deadline.kind,
                "amount": deadline.amount,
                "basis": deadline.basis,
                "basis_label": basis_label(deadline.basis, language),
                "provisional": deadline.provisional,
                "original_due_date": deadline.original_due_date.isoformat(),
                "skipped": json.loads(deadline.skipped),
            }
        items.append(item)
    return InboxPage(items=items, total=total, page=page, size=size)
