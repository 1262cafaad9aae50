"""Deadlines kept in the read model, with their history of moves."""

import json
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session, col, select

from api.access import OUTSIDE, Actor
from api.deps import CurrentActor, ReadSession
from api.errors import NotAllowed, NotFound
from store.models import Deadline, DeadlineChange, DeadlineStatus, Organisation
from ui.i18n import N_

router = APIRouter(prefix="/api/deadlines", tags=["deadlines"])


def deadline_row_json(row: Deadline) -> dict[str, Any]:
    return {
        "id": row.id,
        "case_ref": row.case_ref,
        "subject": row.subject,
        "kind": row.kind,
        "basis": row.basis,
        "start": row.start_date.isoformat(),
        "amount": row.amount,
        "due_date": row.due_date.isoformat(),
        "original_due_date": row.original_due_date.isoformat(),
        "due_at": row.due_at.isoformat(),
        "provisional": row.provisional,
        "calendar_version": row.calendar_version,
        "skipped": json.loads(row.skipped),
        "status": row.status.value,
    }


def _inside(actor: Actor) -> Any:
    return select(Organisation.id).where(
        col(Organisation.path).startswith(actor.jurisdiction.path)
    )


def open_deadlines(session: Session, actor: Actor, limit: int = 200) -> list[Deadline]:
    return list(
        session.exec(
            select(Deadline)
            .where(
                Deadline.status == DeadlineStatus.OPEN,
                col(Deadline.organisation_id).in_(_inside(actor)),
            )
            .order_by(col(Deadline.due_date))
            .limit(limit)
        )
    )


@router.get("")
def list_deadlines(session: ReadSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """Open deadlines inside the caller's jurisdiction, soonest first."""
    return [deadline_row_json(d) for d in open_deadlines(session, actor)]


@router.get("/{deadline_id}")
def get_deadline(
    deadline_id: int, session: ReadSession, actor: CurrentActor
) -> dict[str, Any]:
    """One deadline and every change made to it."""
    row = session.get(Deadline, deadline_id)
    if row is None:
        raise NotFound(N_("No such deadline."))
    organisation = (
        session.get(Organisation, row.organisation_id) if row.organisation_id else None
    )
    if organisation is None or not actor.covers(organisation):
        raise NotAllowed(OUTSIDE)
    changes = session.exec(
        select(DeadlineChange)
        .where(DeadlineChange.deadline_id == deadline_id)
        .order_by(col(DeadlineChange.id))
    )
    return {
        **deadline_row_json(row),
        "changes": [
            {
                "old_due_date": c.old_due_date.isoformat(),
                "new_due_date": c.new_due_date.isoformat(),
                "old_provisional": c.old_provisional,
                "new_provisional": c.new_provisional,
                "reason": c.reason,
                "calendar_version": c.calendar_version,
                "changed_at": c.changed_at.isoformat(),
            }
            for c in changes
        ],
    }
