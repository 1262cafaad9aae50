"""Complaints and reports (投诉举报, procedures.md §2): the JSON API."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import casework
from api.case_view import case_view, parties_view
from api.deps import CurrentActor, DatabaseDep, Locale, ReadSession, WriteSession
from api.errors import NotAllowed
from api.temporal import TaskQueueDep, TemporalDep
from ui.i18n import N_, short

router = APIRouter(prefix="/api/complaints", tags=["complaints"])


class RegistrationIn(BaseModel):
    """A complaint as registered on receipt (art. 75)."""

    channel: str
    category: str
    facts: str
    clues: str = ""
    compound_id: int
    complainant_name: str = ""
    complainant_phone: str = ""
    complainant_address: str = ""
    anonymous: bool = False
    idempotency_key: str = Field("", max_length=80)


def registration_json(registered: casework.Registered, locale: str) -> dict[str, Any]:
    return {
        "ref": registered.ref,
        "created": registered.created,
        "repeat_of": registered.repeat_of,
        "acceptance_due": registered.acceptance_due.isoformat(),
        "acceptance_explanation": registered.acceptance_explanation[short(locale)],
        "provisional": registered.provisional,
    }


@router.post("", status_code=201)
async def register(
    body: RegistrationIn,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
    task_queue: TaskQueueDep,
    locale: Locale,
) -> dict[str, Any]:
    """Register a complaint; the same idempotency key returns the same case."""
    form = casework.RegistrationForm(
        channel=body.channel,
        category=body.category,
        facts=body.facts,
        clues=body.clues,
        compound_id=str(body.compound_id),
        complainant_name=body.complainant_name,
        complainant_phone=body.complainant_phone,
        complainant_address=body.complainant_address,
        anonymous=body.anonymous,
        idempotency_key=body.idempotency_key,
    )
    registered = await casework.register(database, temporal, task_queue, form, actor)
    return registration_json(registered, locale)


@router.get("/repeats")
def repeats(
    session: ReadSession,
    actor: CurrentActor,
    compound_id: Annotated[int, Query()],
    category: Annotated[str, Query()],
) -> dict[str, Any]:
    """Open complaints the new one would repeat (art. 78(4))."""
    return {"open": casework.repeats_for(session, actor, compound_id, category)}


@router.get("/{ref}")
def get_case(
    ref: str, session: ReadSession, actor: CurrentActor, locale: Locale
) -> dict[str, Any]:
    """A case with its deadlines, tasks and timeline; parties masked."""
    case = casework.case_for(session, actor, ref)
    return case_view(session, actor, case, short(locale))


@router.post("/{ref}/reveal")
def reveal(ref: str, session: WriteSession, actor: CurrentActor) -> dict[str, Any]:
    """Show the complainant's personal data to the case's caseworkers; audited."""
    case = casework.case_for(session, actor, ref)
    if not casework.may_reveal(actor, case):
        raise NotAllowed(N_("Only the caseworkers of the case may see who complained."))
    parties, _allowed = parties_view(session, actor, case, reveal=True)
    return {"parties": parties}


class CluesIn(BaseModel):
    clues: str = ""
    received_on: date | None = None


@router.post("/{ref}/clues")
async def add_clues(
    ref: str,
    body: CluesIn,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
) -> dict[str, str]:
    """New clues for a held case: a fresh 7 working days to decide (art. 76)."""
    received = body.received_on or casework.shanghai_today()
    status = await casework.add_clues(
        database, temporal, actor, ref, body.clues, received
    )
    return {"status": status}


class ExtensionIn(BaseModel):
    days: int
    reason: str


@router.post("/{ref}/extension")
async def request_extension(
    ref: str,
    body: ExtensionIn,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
) -> dict[str, str]:
    """Ask for up to 30 more days, with a reason (art. 80)."""
    status = await casework.request_extension(
        database, temporal, actor, ref, str(body.days), body.reason
    )
    return {"status": status}


class DeliberationIn(BaseModel):
    note: str = ""


@router.post("/{ref}/deliberation")
async def record_deliberation(
    ref: str,
    body: DeliberationIn,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
) -> dict[str, str]:
    """Record a collective deliberation (集体研判); the clock keeps running."""
    status = await casework.record_deliberation(
        database, temporal, actor, ref, body.note
    )
    return {"status": status}


class RecusalIn(BaseModel):
    scope: str  # "case" (the complainant) or "company"
    reason: str = ""


@router.post("/{ref}/recusal")
def declare_recusal(
    ref: str, body: RecusalIn, session: WriteSession, actor: CurrentActor
) -> dict[str, str]:
    """Declare a conflict of interest with a side of the case (art. 79)."""
    casework.declare_recusal(session, actor, ref, body.scope, body.reason)
    return {"status": "declared"}
