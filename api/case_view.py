"""A case as its page and the API show it, personal data masked by default."""

import json
from typing import Any

from sqlmodel import Session, col, select

from api.access import Actor
from api.casework import may_reveal
from domain.complaints import (
    CASE_STATUS_NAMES,
    CATEGORY_NAMES,
    CHANNEL_NAMES,
    OUTCOME_NAMES,
    REJECTION_REASON_NAMES,
    STEP_NAMES,
    AcceptanceOutcome,
    CaseStatus,
    Category,
    Channel,
    RejectionReason,
    Step,
    label,
    suggested_agency,
)
from domain.deadlines import PeriodKind, basis_label, compute_deadline
from domain.escalation import RUNG_NAMES, Rung
from domain.masking import mask_name, mask_phone, mask_text_names
from store import audit
from store.calendars import load_calendar
from store.models import (
    Case,
    CaseEvent,
    Compound,
    Deadline,
    DeadlineChange,
    Organisation,
    OrgKind,
    Party,
    Task,
    TaskEscalation,
    TaskStatus,
    User,
)

LIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED)


def _label(names: Any, enum: Any, value: str | None, language: str) -> str:
    if value is None:
        return ""
    try:
        return label(names, enum(value), language)
    except ValueError:
        return value


def parties_view(
    session: Session, actor: Actor, case: Case, reveal: bool
) -> tuple[list[dict[str, Any]], bool]:
    """The parties, unmasked only for the case's caseworkers who asked.

    A reveal is written to the audit log (art. 39); the company the complaint
    is about is never shown who complained, not even masked.
    """
    allowed = may_reveal(actor, case)
    shown = allowed and reveal
    parties = session.exec(select(Party).where(Party.case_id == case.id)).all()
    if shown:
        audit.record(
            session,
            actor_id=actor.id,
            action="personal_data.revealed",
            object_type="case",
            object_id=case.ref,
            details={"parties": [p.id for p in parties]},
        )
    views = []
    for party in parties:
        if party.anonymous:
            views.append(
                {
                    "id": party.id,
                    "name": "",
                    "phone": "",
                    "address": "",
                    "anonymous": True,
                    "masked": False,
                }
            )
        elif shown:
            views.append(
                {
                    "id": party.id,
                    "name": party.name,
                    "phone": party.phone,
                    "address": party.address,
                    "anonymous": False,
                    "masked": False,
                }
            )
        else:
            views.append(
                {
                    "id": party.id,
                    "name": mask_name(party.name),
                    "phone": mask_phone(party.phone),
                    "address": "",
                    "anonymous": False,
                    "masked": True,
                }
            )
    return views, allowed


def deadline_views(session: Session, case: Case, language: str) -> list[dict[str, Any]]:
    """Each of the case's deadlines, with its kind, basis and explanation."""
    calendar = load_calendar(session)
    rows = session.exec(
        select(Deadline).where(Deadline.case_ref == case.ref).order_by(col(Deadline.id))
    ).all()
    views = []
    for row in rows:
        computed = compute_deadline(
            PeriodKind(row.kind), row.start_date, row.amount, calendar, row.basis
        )
        changes = session.exec(
            select(DeadlineChange)
            .where(DeadlineChange.deadline_id == row.id)
            .order_by(col(DeadlineChange.id))
        ).all()
        views.append(
            {
                "id": row.id,
                "subject": row.subject,
                "kind": row.kind,
                "amount": row.amount,
                "basis": row.basis,
                "basis_label": basis_label(row.basis, language),
                "start": row.start_date.isoformat(),
                "due_date": row.due_date.isoformat(),
                "original_due_date": row.original_due_date.isoformat(),
                "provisional": row.provisional,
                "status": row.status.value,
                "explanation": computed.explain(language),
                "changes": [
                    {
                        "old_due_date": c.old_due_date.isoformat(),
                        "new_due_date": c.new_due_date.isoformat(),
                        "reason": c.reason,
                        "changed_at": c.changed_at.isoformat(),
                    }
                    for c in changes
                ],
            }
        )
    return views


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids)))
    return {user_id: name for user_id, name in rows if user_id is not None}


def timeline(session: Session, case: Case, mask: list[str]) -> list[dict[str, Any]]:
    events = session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id)
        .order_by(col(CaseEvent.id))
    ).all()
    parsed = [json.loads(event.details) for event in events]
    # A step that went straight to the caseworker of the case names them.
    assignees = {
        int(details["assignee_id"])
        for details in parsed
        if str(details.get("assignee_id", "")).isdigit()
    }
    names = _names(
        session, {e.actor_id for e in events if e.actor_id is not None} | assignees
    )
    views = []
    for event, details in zip(events, parsed, strict=True):
        assignee = str(details.pop("assignee_id", ""))
        for key, value in details.items():
            if isinstance(value, str) and mask:
                details[key] = mask_text_names(value, mask)
        views.append(
            {
                "at": event.at.isoformat(),
                "kind": event.kind,
                "actor": names.get(event.actor_id or 0, ""),
                "assignee": names.get(int(assignee), "") if assignee.isdigit() else "",
                "details": details,
            }
        )
    return views


def case_view(
    session: Session, actor: Actor, case: Case, language: str, reveal: bool = False
) -> dict[str, Any]:
    """Everything the case page shows."""
    parties, may_see_parties = parties_view(session, actor, case, reveal)
    revealed = any(not p["masked"] and not p["anonymous"] for p in parties)
    hidden_names = (
        []
        if revealed
        else [
            p.name
            for p in session.exec(select(Party).where(Party.case_id == case.id))
            if p.name
        ]
    )
    compound = session.get(Compound, case.compound_id) if case.compound_id else None
    company = session.get(Organisation, case.company_id) if case.company_id else None
    office = session.get(Organisation, case.organisation_id)
    agency = (
        session.get(Organisation, case.transferred_to) if case.transferred_to else None
    )
    tasks = session.exec(
        select(Task).where(Task.case_id == case.id).order_by(col(Task.created_at))
    ).all()
    holders = _names(
        session, {t.assignee_id for t in tasks if t.assignee_id is not None}
    )
    escalations: dict[str, list[TaskEscalation]] = {}
    for fired in session.exec(
        select(TaskEscalation)
        .where(col(TaskEscalation.task_id).in_([t.id for t in tasks]))
        .order_by(col(TaskEscalation.id))
    ):
        escalations.setdefault(fired.task_id, []).append(fired)
    # Transfers go to the agencies of the office's district (art. 77), the
    # one responsible for the subject first (procedures.md §8).
    district = office.path.rsplit("/", 2)[0] + "/" if office else "/"
    suggestion = suggested_agency(case.category)
    suggested = None
    if suggestion is not None:
        suggested = session.exec(
            select(Organisation).where(
                Organisation.kind == OrgKind.DEPARTMENT,
                col(Organisation.department_type) == suggestion,
                col(Organisation.path).startswith(district),
            )
        ).first()
    agencies = session.exec(
        select(Organisation)
        .where(
            Organisation.kind == OrgKind.DEPARTMENT,
            col(Organisation.path).startswith(district),
        )
        .order_by(col(Organisation.path))
    ).all()
    return {
        "ref": case.ref,
        "status": case.status,
        "status_name": _label(CASE_STATUS_NAMES, CaseStatus, case.status, language),
        "channel": case.channel,
        "channel_name": _label(CHANNEL_NAMES, Channel, case.channel, language),
        "category": case.category,
        "category_name": _label(CATEGORY_NAMES, Category, case.category, language),
        "outcome": case.outcome,
        "outcome_name": _label(
            OUTCOME_NAMES, AcceptanceOutcome, case.outcome, language
        ),
        "outcome_reason_name": _label(
            REJECTION_REASON_NAMES, RejectionReason, case.outcome_reason, language
        ),
        "facts": mask_text_names(case.facts, hidden_names)
        if hidden_names
        else case.facts,
        "clues": mask_text_names(case.clues, hidden_names)
        if hidden_names
        else case.clues,
        "compound": compound.name if compound else "",
        "company": company.name if company else "",
        "office": office.name if office else "",
        "transferred_to": agency.name if agency else "",
        "repeat_of": [r for r in case.repeat_of.split(",") if r],
        "registered_at": case.registered_at.isoformat(),
        "held_since": case.held_since.isoformat() if case.held_since else None,
        "accepted_on": case.accepted_on.isoformat() if case.accepted_on else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "extension_days": case.extension_days,
        "parties": parties,
        "may_reveal": may_see_parties,
        "may_act": may_see_parties,
        "deadlines": deadline_views(session, case, language),
        "timeline": timeline(session, case, hidden_names),
        "tasks": [
            {
                "task_id": t.id,
                "step": t.step,
                "step_name": _label(STEP_NAMES, Step, t.step, language),
                "status": t.status.value,
                "version": t.version,
                "assignee_id": t.assignee_id,
                "assignee": holders.get(t.assignee_id or 0, ""),
                "candidate_org_id": t.candidate_org_id,
                "candidate_role": t.candidate_role.value,
                "due_at": t.due_at.isoformat() if t.due_at else None,
                "live": t.status in LIVE,
                "outcome": t.outcome,
                # The rungs of the escalation ladder that fired, in order.
                "escalations": [
                    {
                        "rung": e.rung,
                        "name": _label(RUNG_NAMES, Rung, e.rung, language),
                        "fired_at": e.fired_at.isoformat(),
                    }
                    for e in escalations.get(t.id, [])
                ],
                "record": {
                    key: mask_text_names(value, hidden_names)
                    if isinstance(value, str) and hidden_names
                    else value
                    for key, value in json.loads(t.record).items()
                },
            }
            for t in tasks
        ],
        "suggested_agency": (
            {"id": suggested.id, "name": suggested.name} if suggested else None
        ),
        "agencies": [{"id": a.id, "name": a.name} for a in agencies],
    }
