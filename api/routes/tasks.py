"""Human tasks: the inbox, claiming, assigning and completing (every procedure)."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api import casework
from api.access import Actor
from api.deps import CurrentActor, DatabaseDep, Locale
from api.inbox import SCOPES, InboxFilter, InboxPage, inbox
from api.routes.calendar import InvalidParameter
from api.temporal import TemporalDep
from domain.deadlines import SHANGHAI
from store.db import Database
from ui.i18n import N_, short

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


def _page(
    database: Database, actor: Actor, wanted: InboxFilter, language: str
) -> InboxPage:
    with database.read() as session:
        return inbox(session, actor, wanted, datetime.now(SHANGHAI), language)


@router.get("")
async def list_tasks(
    database: DatabaseDep,
    actor: CurrentActor,
    locale: Locale,
    scope: Annotated[str, Query()] = "mine",
    procedure: Annotated[str | None, Query()] = None,
    step: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    organisation_id: Annotated[int | None, Query()] = None,
    due_before: Annotated[date | None, Query()] = None,
    overdue: Annotated[bool, Query()] = False,
    at_risk: Annotated[bool, Query()] = False,
    sort: Annotated[str, Query()] = "due",
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """My tasks, my groups' unclaimed tasks, or (supervisors) the whole office."""
    if scope not in SCOPES:
        raise InvalidParameter("scope", N_("scope must be one of: mine, group, all."))
    if sort not in ("due", "remaining"):
        raise InvalidParameter("sort", N_("sort must be due or remaining."))
    wanted = InboxFilter(
        scope=scope,
        procedure=procedure,
        step=step,
        status=status,
        organisation_id=organisation_id,
        due_before=due_before,
        overdue=overdue,
        at_risk=at_risk,
        sort=sort,
        page=page,
        size=size,
    )
    # The query with its session opened and closed in one call: the inbox is
    # asked more than anything else.
    result = await database.run_reading(_page, database, actor, wanted, short(locale))
    return {
        "items": result.items,
        "total": result.total,
        "page": result.page,
        "size": result.size,
    }


class ClaimIn(BaseModel):
    version: int | None = None


@router.post("/{task_id:path}/claim")
async def claim(
    task_id: str,
    actor: CurrentActor,
    database: DatabaseDep,
    body: ClaimIn | None = None,
) -> dict[str, str]:
    """Take a task from the group's queue; a second taker gets 409."""
    await casework.claim(database, actor, task_id, body.version if body else None)
    return {"status": "claimed"}


@router.post("/{task_id:path}/release")
async def release(
    task_id: str, actor: CurrentActor, database: DatabaseDep
) -> dict[str, str]:
    """Give a claimed task back to the group's queue."""
    await casework.release(database, actor, task_id)
    return {"status": "open"}


class CompletionIn(BaseModel):
    outcome: str = ""
    reason: str = ""
    agency_id: str = ""
    note: str = ""
    no_conflict: bool = False


@router.post("/{task_id:path}/complete")
async def complete(
    task_id: str,
    body: CompletionIn,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    """Complete a task with its form; the workflow takes the next step."""
    result = await casework.complete(
        database,
        temporal,
        actor,
        task_id,
        casework.CompletionForm(
            outcome=body.outcome,
            reason=body.reason,
            agency_id=body.agency_id,
            note=body.note,
            no_conflict=body.no_conflict,
        ),
    )
    return {
        "task_id": result.task_id,
        "status": result.status,
        "open_tasks": result.open_tasks,
    }


class AssignIn(BaseModel):
    task_ids: list[str]
    assignee_id: int


@router.post("/assign")
async def assign(
    body: AssignIn, actor: CurrentActor, database: DatabaseDep
) -> dict[str, int]:
    """A supervisor assigns or reassigns tasks, one or many (all or none)."""
    moved = await casework.assign(database, actor, body.task_ids, body.assignee_id)
    return {"assigned": moved}
