"""The casework pages: inbox, registration, the case, the supervisor's dashboard.

王 (caseworker) and 李 (supervisor) of journeys.md work here. Every form posts
to the service layer in api.casework; a form with mistakes comes back on the
same page (422) with what was typed and a message at each field.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api import casework
from api.access import Actor, compounds_in_jurisdiction, require_role
from api.case_view import case_view
from api.deps import (
    Auth,
    AuthDep,
    CurrentActor,
    DatabaseDep,
    Locale,
    ReadSession,
    SettingsDep,
)
from api.errors import NotAllowed, NotFound, UserFacingError
from api.inbox import InboxFilter, InboxPage, inbox
from api.security import ANON_CSRF_COOKIE, new_anonymous_csrf
from api.temporal import TaskQueueDep, TemporalDep
from domain.complaints import (
    ACCEPTANCE,
    CATEGORY_NAMES,
    CHANNEL_NAMES,
    MAX_EXTENSION_DAYS,
    OUTCOME_NAMES,
    REJECTION_REASON_NAMES,
    STEP_NAMES,
    AcceptanceOutcome,
    Channel,
    RejectionReason,
    Step,
    label,
)
from domain.deadlines import SHANGHAI
from domain.escalation import Rung
from store.calendars import load_calendar
from store.db import Database
from store.models import (
    Case,
    CaseEvent,
    Compound,
    Organisation,
    Role,
    Task,
    TaskEscalation,
    User,
)
from ui.i18n import N_, gettext, short
from ui.render import render

router = APIRouter(include_in_schema=False)

STAFF = (Role.CASEWORKER, Role.SUPERVISOR)
PAGE_SIZE = 20
# The dashboard lists the office's open tasks on one page, to pick from.
MAX_OFFICE_TASKS = 200

# What each line of a case's timeline says (the kinds the workflow and the
# activities write, see workflows/complaint.py and activities/).
EVENT_LABELS = {
    "case.registered": N_("Complaint registered"),
    "acceptance.opened": N_("Acceptance review opened"),
    "acceptance.decided": N_("Acceptance decided"),
    "task.opened": N_("Task opened"),
    "task.completed": N_("Task completed"),
    "task.cancelled": N_("Task withdrawn"),
    "task.reminder": N_("Reminder sent"),
    "task.due_today": N_("Due-today notice sent"),
    "task.overdue": N_("Reported overdue to the supervisor"),
    "task.escalated": N_("Escalated to the next level"),
    "case.held": N_("Held pending clues"),
    "clues.added": N_("New clues received"),
    "transferred": N_("Transferred to the responsible agency"),
    "transferred.discipline": N_("Sent to discipline inspection"),
    "complainant.informed": N_("Complainant told why it is not accepted"),
    "handling.started": N_("Handling started"),
    "extension.reason": N_("Reason for an extension"),
    "extension.requested": N_("Extension requested"),
    "extension.approved": N_("Extension approved"),
    "extension.refused": N_("Extension refused"),
    "deliberation.note": N_("Deliberation notes"),
    "deliberation.recorded": N_("Collective deliberation recorded"),
    "deadline.moved": N_("Deadline moved"),
    "recusal.declared": N_("Conflict of interest declared"),
    "case.closed": N_("Case closed"),
}

# What a case deadline is for (the `subject` the workflow gives it).
DEADLINE_SUBJECTS = {
    "acceptance": N_("Acceptance decision"),
    "handling": N_("Handling"),
}

# A step's note field, as its form asks for it (art. 81: each step's record).
NOTE_LABELS = {
    Step.TRANSFER_REPLY: N_("The agency's reply"),
    Step.INVESTIGATE: N_("What the investigation found"),
    Step.VERIFY: N_("What was verified"),
    Step.FEEDBACK: N_("How and what the complainant was told"),
    Step.ARCHIVE: N_("Note for the archive (optional)"),
}


def now() -> datetime:
    return datetime.now(SHANGHAI)


def _back(target: str | None, fallback: str) -> str:
    """A local path to return to after a form; anything else goes to fallback."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or "://" in target:
        return fallback
    return target


def _names(table: Any, language: str) -> list[tuple[str, str]]:
    return [(key.value, label(table, key, language)) for key in table]


def _field_errors(error: casework.InvalidForm, locale: str) -> dict[str, str]:
    return {name: gettext(locale, text) for name, text in error.fields.items()}


def require_staff(actor: Actor) -> None:
    """Casework pages belong to the caseworkers and supervisors."""
    require_role(actor, *STAFF)


# -- the inbox -----------------------------------------------------------------


@dataclass(frozen=True)
class InboxQuery:
    """The inbox page's filters, as its GET parameters give them."""

    step: str = ""
    overdue: bool = False
    at_risk: bool = False
    due_before: str = ""
    page: int = 1
    queue_page: int = 1


def _pager(query: InboxQuery, parameter: str, shown: InboxPage) -> dict[str, Any]:
    """Links to the previous and next page of one list, the filters kept."""
    pages = max(1, -(-shown.total // shown.size))
    params = {
        "step": query.step,
        "overdue": "1" if query.overdue else "",
        "at_risk": "1" if query.at_risk else "",
        "due_before": query.due_before,
        "page": str(query.page),
        "queue_page": str(query.queue_page),
    }

    def link(page: int) -> str | None:
        if not 1 <= page <= pages or page == shown.page:
            return None
        wanted = {**params, parameter: str(page)}
        return "/inbox?" + urlencode({k: v for k, v in wanted.items() if v})

    return {
        "page": shown.page,
        "pages": pages,
        "previous": link(shown.page - 1),
        "next": link(shown.page + 1),
    }


def _rows(page: InboxPage) -> list[SimpleNamespace]:
    """The page's items as objects with attributes, for the templates."""
    # Jinja reads `t.due_date` by trying an attribute first; on a dict that
    # fails with an exception for every field of every row.
    rows = []
    for item in page.items:
        row = SimpleNamespace(**item)
        if item["deadline"] is not None:
            row.deadline = SimpleNamespace(**item["deadline"])
        rows.append(row)
    return rows


def inbox_context(
    session: Session, actor: Actor, locale: str, query: InboxQuery
) -> dict[str, Any]:
    """My tasks first, then my group's unclaimed tasks (journeys.md, 王 08:30)."""
    language = short(locale)
    due_before = None
    filter_error = None
    if query.due_before:
        try:
            due_before = date.fromisoformat(query.due_before)
        except ValueError:
            filter_error = gettext(locale, N_("Write the date as YYYY-MM-DD."))
    step = query.step if query.step in {s.value for s in Step} else None
    at = now()
    calendar = load_calendar(session)

    def page_of(scope: str, page: int) -> InboxPage:
        wanted = InboxFilter(
            scope=scope,
            step=step,
            due_before=due_before,
            overdue=query.overdue,
            at_risk=query.at_risk,
            page=max(1, page),
            size=PAGE_SIZE,
        )
        return inbox(session, actor, wanted, at, language, calendar)

    mine = page_of("mine", query.page)
    queue = page_of("group", query.queue_page)
    return {
        "mine": mine,
        "queue": queue,
        "mine_rows": _rows(mine),
        "queue_rows": _rows(queue),
        "mine_pager": _pager(query, "page", mine),
        "queue_pager": _pager(query, "queue_page", queue),
        "filters": query,
        "filter_error": filter_error,
        "steps": _names(STEP_NAMES, language),
        "page_size": PAGE_SIZE,
    }


def _inbox_page(
    request: Request,
    session: Session,
    actor: Actor,
    locale: str,
    query: InboxQuery,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = inbox_context(session, actor, locale, query)
    context["action_error"] = error
    return render(
        request,
        "inbox.html",
        context,
        locale=locale,
        status_code=status_code,
        partial="inbox",
    )


@router.get("/inbox")
def inbox_page(
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    locale: Locale,
    step: Annotated[str, Query()] = "",
    overdue: Annotated[bool, Query()] = False,
    at_risk: Annotated[bool, Query()] = False,
    due_before: Annotated[str, Query()] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    queue_page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """My tasks, soonest due first, then my group's tasks to claim."""
    query = InboxQuery(step, overdue, at_risk, due_before, page, queue_page)
    return _inbox_page(request, session, actor, locale, query)


@router.post("/tasks/{task_id:path}/claim")
async def claim_task(
    task_id: str,
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    locale: Locale,
    version: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Take a task from the group's queue; the loser of a race is told who won."""
    try:
        await casework.claim(
            database, actor, task_id, int(version) if version.isdigit() else None
        )
    except UserFacingError as error:
        if error.status_code != 409:
            raise
        message = error.text(locale)
        ref = task_id.split("/", 1)[0]
        if _back(next, "/inbox").startswith("/cases/"):
            return await run_in_threadpool(
                _case_page, request, database, actor, locale, ref, error=message
            )

        def inbox_with_error() -> HTMLResponse:
            with database.read() as session:
                return _inbox_page(
                    request,
                    session,
                    actor,
                    locale,
                    InboxQuery(),
                    error=message,
                    status_code=409,
                )

        return await run_in_threadpool(inbox_with_error)
    return RedirectResponse(_back(next, "/inbox"), status_code=303)


# -- registering a complaint ------------------------------------------------------


REGISTRATION_FIELDS = (
    "channel",
    "complainant_name",
    "complainant_phone",
    "complainant_address",
    "compound_id",
    "category",
    "facts",
    "clues",
)


def _compound_options(
    session: Session, compounds: list[Compound]
) -> list[dict[str, Any]]:
    companies = {
        org.id: org.name
        for org in session.exec(
            select(Organisation).where(
                col(Organisation.id).in_(
                    {c.company_id for c in compounds if c.company_id}
                )
            )
        )
    }
    return [
        {
            "id": compound.id,
            "name": compound.name,
            "company": companies.get(compound.company_id, ""),
        }
        for compound in compounds
    ]


def _repeats(
    session: Session, actor: Actor | None, compound_id: str, category: str
) -> list[str]:
    if actor is None or not compound_id.isdigit() or not category:
        return []
    return casework.repeats_for(session, actor, int(compound_id), category)


def registration_context(
    session: Session,
    actor: Actor,
    locale: str,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    language = short(locale)
    compounds = compounds_in_jurisdiction(session, actor)
    return {
        "values": values,
        "errors": errors or {},
        "channels": _names(CHANNEL_NAMES, language),
        "categories": _names(CATEGORY_NAMES, language),
        "compounds": _compound_options(session, compounds),
        "repeats": _repeats(
            session, actor, str(values.get("compound_id", "")), values["category"]
        ),
    }


def _empty_registration() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(REGISTRATION_FIELDS, "")
    values["channel"] = Channel.PHONE.value
    values["anonymous"] = False
    values["idempotency_key"] = uuid.uuid4().hex
    return values


@router.get("/complaints/new")
def registration_page(
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    locale: Locale,
    compound_id: Annotated[str, Query()] = "",
    category: Annotated[str, Query()] = "",
) -> Response:
    """The registration form; htmx asks it for the repeat warning alone."""
    require_staff(actor)
    values = _empty_registration()
    values.update(compound_id=compound_id, category=category)
    context = registration_context(session, actor, locale, values)
    return render(
        request, "complaint_new.html", context, locale=locale, partial="repeats"
    )


def _registration_form(
    values: dict[str, Any], channel: str | None = None
) -> casework.RegistrationForm:
    return casework.RegistrationForm(
        channel=channel or values["channel"],
        category=values["category"],
        facts=values["facts"],
        clues=values["clues"],
        compound_id=values["compound_id"],
        complainant_name=values["complainant_name"],
        complainant_phone=values["complainant_phone"],
        complainant_address=values["complainant_address"],
        anonymous=values["anonymous"],
        idempotency_key=values["idempotency_key"],
    )


def _registration_values(
    channel: Annotated[str, Form()] = "",
    complainant_name: Annotated[str, Form()] = "",
    complainant_phone: Annotated[str, Form()] = "",
    complainant_address: Annotated[str, Form()] = "",
    anonymous: Annotated[bool, Form()] = False,
    compound_id: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    facts: Annotated[str, Form()] = "",
    clues: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> dict[str, Any]:
    """The registration form as typed, to register or to show again."""
    return {
        "channel": channel,
        "complainant_name": complainant_name,
        "complainant_phone": complainant_phone,
        "complainant_address": complainant_address,
        "anonymous": anonymous,
        "compound_id": compound_id,
        "category": category,
        "facts": facts,
        "clues": clues,
        # A form sent without its key (an old page) still registers once.
        "idempotency_key": idempotency_key or uuid.uuid4().hex,
    }


RegistrationValues = Annotated[dict[str, Any], Depends(_registration_values)]


@router.post("/complaints/new")
async def register_complaint(
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
    task_queue: TaskQueueDep,
    locale: Locale,
    values: RegistrationValues,
) -> Response:
    """Register a complaint on receipt (art. 75); the case page follows."""
    require_staff(actor)
    try:
        registered = await casework.register(
            database, temporal, task_queue, _registration_form(values), actor
        )
    except casework.InvalidForm as error:
        errors = _field_errors(error, locale)
        message = error.text(locale)

        def again() -> HTMLResponse:
            with database.read() as session:
                context = registration_context(session, actor, locale, values, errors)
            context["form_error"] = message
            return render(
                request, "complaint_new.html", context, locale=locale, status_code=422
            )

        return await run_in_threadpool(again)
    return RedirectResponse(f"/cases/{registered.ref}?registered=1", status_code=303)


# -- the public complaint form -------------------------------------------------------


def _public_page(
    request: Request,
    auth: Auth,
    database: Database,
    locale: str,
    secure: bool,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """The form with an anonymous CSRF token, as the login page does it."""
    token = auth.csrf_token
    if auth.actor is None:
        token = request.cookies.get(ANON_CSRF_COOKIE) or new_anonymous_csrf()
        request.state.auth = Auth(actor=None, csrf_token=token)
    language = short(locale)
    with database.read() as session:
        compounds = list(session.exec(select(Compound).order_by(col(Compound.name))))
        options = _compound_options(session, compounds)
    response = render(
        request,
        "public_complaint.html",
        {
            "categories": _names(CATEGORY_NAMES, language),
            "compounds": options,
            **context,
        },
        locale=locale,
        status_code=status_code,
    )
    if auth.actor is None:
        response.set_cookie(
            ANON_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure
        )
    return response


@router.get("/public/complaint")
def public_complaint_page(
    request: Request,
    auth: AuthDep,
    database: DatabaseDep,
    locale: Locale,
    settings: SettingsDep,
) -> Response:
    """A resident's complaint form on the website (art. 75); no sign-in."""
    context = {"values": _empty_registration(), "errors": {}}
    return _public_page(
        request, auth, database, locale, settings.cookie_secure, context
    )


@router.post("/public/complaint")
async def public_complaint(
    request: Request,
    auth: AuthDep,
    database: DatabaseDep,
    temporal: TemporalDep,
    task_queue: TaskQueueDep,
    locale: Locale,
    settings: SettingsDep,
    values: RegistrationValues,
) -> Response:
    """Register a resident's complaint; the page shows only the case number."""
    values = {**values, "channel": Channel.WEBSITE.value}
    context: dict[str, Any] = {"values": values, "errors": {}}
    status_code = 200
    try:
        # Registered as from the website by nobody: the resident has no account.
        registered = await casework.register(
            database, temporal, task_queue, _registration_form(values), None
        )
        context["registered_ref"] = registered.ref
    except casework.InvalidForm as error:
        context["errors"] = _field_errors(error, locale)
        context["form_error"] = error.text(locale)
        status_code = 422
    return await run_in_threadpool(
        _public_page,
        request,
        auth,
        database,
        locale,
        settings.cookie_secure,
        context,
        status_code,
    )


# -- the case page ---------------------------------------------------------------


@dataclass(frozen=True)
class FailedForm:
    """A form that came back with mistakes: which one, what was typed, why."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def local_time(instant: str | None) -> str:
    """An ISO instant as Beijing time, "2026-10-08 09:30"."""
    if not instant:
        return ""
    moment = datetime.fromisoformat(instant)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def due_day(instant: str | None) -> str:
    """The last day of a task's due instant (24:00 is 00:00 of the next day)."""
    if not instant:
        return ""
    moment = datetime.fromisoformat(instant).astimezone(SHANGHAI)
    if moment.time() == time(0):
        return (moment.date() - timedelta(days=1)).isoformat()
    return moment.date().isoformat()


def label_deadline_subjects(
    rows: list[dict[str, Any]], locale: str
) -> list[dict[str, Any]]:
    """Deadline rows whose subject is a workflow's code, in the reader's words."""
    for row in rows:
        if row.get("subject") in DEADLINE_SUBJECTS:
            row["subject"] = gettext(locale, DEADLINE_SUBJECTS[row["subject"]])
    return rows


def _acceptance_deadline(
    session: Session, case: Case, deadlines: list[dict[str, Any]], language: str
) -> dict[str, Any] | None:
    """The acceptance deadline while acceptance is open (art. 76).

    Right after registration the workflow may not have written it yet; the
    page then computes it from the day of receipt as the workflow will.
    """
    if case.status not in ("registered", "accepting"):
        return None
    for deadline in reversed(deadlines):
        if deadline["subject"] == "acceptance" and deadline["status"] == "open":
            return deadline
    if any(d["subject"] == "acceptance" for d in deadlines):
        return None
    registered_on = case.registered_at.astimezone(SHANGHAI).date()
    computed = ACCEPTANCE.compute(registered_on, load_calendar(session))
    return {
        "subject": "acceptance",
        "kind": computed.kind.value,
        "amount": computed.amount,
        "basis": computed.basis,
        "due_date": computed.due_date.isoformat(),
        "provisional": computed.provisional,
        "explanation": computed.explain(language),
    }


def _event_summary(
    event: dict[str, Any], language: str, agencies: dict[str, str], locale: str
) -> str:
    """The details of a timeline line worth reading, in a few words."""
    details = event["details"]
    parts: list[str] = []
    step = details.get("step")
    if step:
        try:
            parts.append(label(STEP_NAMES, Step(step), language))
        except ValueError:
            parts.append(step)
    outcome = details.get("outcome")
    if outcome:
        try:
            parts.append(label(OUTCOME_NAMES, AcceptanceOutcome(outcome), language))
        except ValueError:
            decisions = {"approve": N_("approved"), "refuse": N_("refused")}
            parts.append(gettext(locale, decisions.get(outcome, outcome)))
    # A deadline's move says its reason in the line that caused it
    # (extension.approved, a calendar load); its own reason is for the log.
    reason = "" if event["kind"] == "deadline.moved" else details.get("reason", "")
    if reason in {r.value for r in RejectionReason}:
        parts.append(label(REJECTION_REASON_NAMES, RejectionReason(reason), language))
    elif reason and not reason.startswith("case-event:"):
        parts.append(reason)
    if event["kind"] in ("extension.reason", "extension.requested") and details.get(
        "days"
    ):
        parts.insert(0, gettext(locale, N_("{days} days")).format(days=details["days"]))
    note = details.get("note", "")
    if note and not note.startswith("case-event:"):
        parts.append(note)
    if details.get("agency_id"):
        parts.append(agencies.get(details["agency_id"], ""))
    if details.get("new_due_date"):
        parts.append(
            gettext(locale, N_("due {old} → {new}")).format(
                old=details.get("old_due_date", ""), new=details["new_due_date"]
            )
        )
    if details.get("received_on"):
        parts.append(
            gettext(locale, N_("received {day}")).format(day=details["received_on"])
        )
    if details.get("due_date"):
        parts.append(gettext(locale, N_("due {day}")).format(day=details["due_date"]))
    if event.get("assignee"):
        parts.append(
            gettext(locale, N_("to {name}, who carries the case")).format(
                name=event["assignee"]
            )
        )
    if details.get("scope") == "company":
        parts.append(gettext(locale, N_("with the company")))
    elif details.get("scope") == "case":
        parts.append(gettext(locale, N_("with a side of this case")))
    return " · ".join(p for p in parts if p)


def _task_rights(actor: Actor, task: dict[str, Any], recused: bool) -> dict[str, Any]:
    """What the viewer may do with a live task on the case page."""
    candidate = (
        actor.organisation.id == task["candidate_org_id"]
        and actor.role.value == task["candidate_role"]
    )
    unclaimed = task["status"] == "open" and task["assignee_id"] is None
    mine = task["assignee_id"] == actor.id
    # An approval is one click for the supervisor (journeys.md, 李); other
    # steps are claimed first, so that the group sees who works on them.
    one_click = task["step"] == Step.APPROVE_EXTENSION
    may_act = candidate and not recused
    return {
        "may_claim": may_act and unclaimed and not one_click,
        "may_complete": may_act and (mine or (unclaimed and one_click)),
    }


def case_context(
    session: Session,
    actor: Actor,
    locale: str,
    ref: str,
    *,
    reveal: bool = False,
    failed: FailedForm | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """Everything the case page shows, with the forms the viewer may use."""
    language = short(locale)
    case = casework.case_for(session, actor, ref)
    view = case_view(session, actor, case, language, reveal)
    recused = casework.is_recused(session, actor.id, case)
    agencies = {str(a["id"]): a["name"] for a in view["agencies"]}
    live = [t for t in view["tasks"] if t["live"]]
    for key in ("registered_at", "held_since", "closed_at"):
        view[key] = local_time(view[key])
    for task in view["tasks"]:
        task["due_day"] = due_day(task["due_at"])
    for task in live:
        task.update(_task_rights(actor, task, recused))
        task["note_label"] = NOTE_LABELS.get(Step(task["step"]), N_("Note"))
    extension = None
    for event in view["timeline"]:
        event["at"] = local_time(event["at"])
        event["label"] = EVENT_LABELS.get(event["kind"], event["kind"])
        event["summary"] = _event_summary(event, language, agencies, locale)
        if event["kind"] == "extension.reason":
            extension = event["details"]
    for deadline in view["deadlines"]:
        deadline["subject_label"] = DEADLINE_SUBJECTS.get(
            deadline["subject"], deadline["subject"]
        )
        # The handling period grows by each approved extension (art. 80).
        deadline["extension_days"] = (
            case.extension_days if deadline["subject"] == "handling" else 0
        )
    pending_approval = any(t["step"] == Step.APPROVE_EXTENSION for t in live)
    may_act = view["may_act"] and not recused
    handling = case.status == "handling"
    suggested = view["suggested_agency"]
    return {
        "case": view,
        "live_tasks": live,
        "done_tasks": [t for t in view["tasks"] if not t["live"]],
        "acceptance": _acceptance_deadline(session, case, view["deadlines"], language),
        "extension_request": extension if pending_approval else None,
        "outcomes": _names(OUTCOME_NAMES, language),
        "reasons": _names(REJECTION_REASON_NAMES, language),
        "suggested_agency_id": suggested["id"] if suggested else None,
        "recused": recused,
        "show_clues_form": may_act and case.status == "held",
        "show_extension_form": may_act
        and handling
        and not pending_approval
        and case.extension_days < MAX_EXTENSION_DAYS,
        "max_extension": MAX_EXTENSION_DAYS - case.extension_days,
        "show_deliberation_form": may_act and handling,
        "show_recusal_form": view["may_act"] and case.status != "closed",
        "today": now().date().isoformat(),
        "failed": failed or FailedForm(name=""),
        "action_error": error,
    }


def _case_page(
    request: Request,
    database: Database,
    actor: Actor,
    locale: str,
    ref: str,
    *,
    failed: FailedForm | None = None,
    error: str | None = None,
    status_code: int | None = None,
) -> HTMLResponse:
    with database.read() as session:
        context = case_context(session, actor, locale, ref, failed=failed, error=error)
    if status_code is None:
        status_code = 422 if failed else 409 if error else 200
    return render(request, "case.html", context, locale=locale, status_code=status_code)


@router.get("/cases/{ref}")
def case_page(
    ref: str,
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    locale: Locale,
    registered: Annotated[bool, Query()] = False,
) -> Response:
    """A case: its deadlines, tasks and history; the complainant masked."""
    context = case_context(session, actor, locale, ref)
    context["just_registered"] = registered
    return render(request, "case.html", context, locale=locale)


@router.post("/cases/{ref}/reveal")
def reveal_parties(
    ref: str,
    request: Request,
    database: DatabaseDep,
    actor: CurrentActor,
    locale: Locale,
) -> Response:
    """Show who complained to the case's caseworkers; the reveal is audited."""
    with database.write() as session:
        case = casework.case_for(session, actor, ref)
        if not casework.may_reveal(actor, case):
            raise NotAllowed(
                N_("Only the caseworkers of the case may see who complained.")
            )
        context = case_context(session, actor, locale, ref, reveal=True)
    return render(request, "case.html", context, locale=locale, partial="parties")


async def _case_action(
    request: Request,
    database: Database,
    actor: Actor,
    locale: str,
    ref: str,
    form: FailedForm,
    action: Any,
    done: str | None = None,
) -> Response:
    """Run a case action; back to the case page, with the form if it failed."""
    try:
        await action
    except casework.InvalidForm as error:
        failed = FailedForm(form.name, form.values, _field_errors(error, locale))
        return await run_in_threadpool(
            _case_page, request, database, actor, locale, ref, failed=failed
        )
    except (NotAllowed, NotFound):
        raise
    except UserFacingError as error:
        return await run_in_threadpool(
            _case_page,
            request,
            database,
            actor,
            locale,
            ref,
            failed=FailedForm(form.name, form.values),
            error=error.text(locale),
            status_code=error.status_code,
        )
    return RedirectResponse(done or f"/cases/{ref}", status_code=303)


def _task_ref(database: Database, actor: Actor, task_id: str) -> str:
    with database.read() as session:
        _task, case = casework.task_for(session, actor, task_id)
        return case.ref


@router.post("/tasks/{task_id:path}/complete")
async def complete_task(
    task_id: str,
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
    locale: Locale,
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    agency_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    no_conflict: Annotated[bool, Form()] = False,
    next: Annotated[str, Form()] = "",
) -> Response:
    """Complete a task with its form; the case page shows the next step."""
    ref = await run_in_threadpool(_task_ref, database, actor, task_id)
    values = {
        "task_id": task_id,
        "outcome": outcome,
        "reason": reason,
        "agency_id": agency_id,
        "note": note,
        "no_conflict": no_conflict,
    }
    form = casework.CompletionForm(
        outcome=outcome,
        reason=reason,
        agency_id=agency_id,
        note=note,
        no_conflict=no_conflict,
    )
    return await _case_action(
        request,
        database,
        actor,
        locale,
        ref,
        FailedForm(f"task:{task_id}", values),
        casework.complete(database, temporal, actor, task_id, form),
        done=_back(next, f"/cases/{ref}"),
    )


@router.post("/cases/{ref}/clues")
async def add_clues(
    ref: str,
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
    locale: Locale,
    clues: Annotated[str, Form()] = "",
    received_on: Annotated[str, Form()] = "",
) -> Response:
    """New clues for a held case: back to acceptance with 7 fresh working days."""
    values = {"clues": clues, "received_on": received_on}
    try:
        received = date.fromisoformat(received_on) if received_on else now().date()
    except ValueError:
        received = None

    async def act() -> None:
        if received is None:
            raise casework.InvalidForm(
                {"received_on": N_("Write the date as YYYY-MM-DD.")}
            )
        await casework.add_clues(database, temporal, actor, ref, clues, received)

    return await _case_action(
        request, database, actor, locale, ref, FailedForm("clues", values), act()
    )


@router.post("/cases/{ref}/extension")
async def request_extension(
    ref: str,
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
    locale: Locale,
    days: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ask the head of the office for up to 30 more days (art. 80)."""
    return await _case_action(
        request,
        database,
        actor,
        locale,
        ref,
        FailedForm("extension", {"days": days, "reason": reason}),
        casework.request_extension(
            database, temporal, actor, ref, days.strip(), reason
        ),
    )


@router.post("/cases/{ref}/deliberation")
async def record_deliberation(
    ref: str,
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    temporal: TemporalDep,
    locale: Locale,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Record a collective deliberation (集体研判); the clock keeps running."""
    return await _case_action(
        request,
        database,
        actor,
        locale,
        ref,
        FailedForm("deliberation", {"note": note}),
        casework.record_deliberation(database, temporal, actor, ref, note),
    )


@router.post("/cases/{ref}/recusal")
async def declare_recusal(
    ref: str,
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    locale: Locale,
    scope: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Declare a conflict of interest with a side of the case (art. 79)."""

    def declare() -> None:
        with database.write() as session:
            casework.declare_recusal(session, actor, ref, scope, reason)

    return await _case_action(
        request,
        database,
        actor,
        locale,
        ref,
        FailedForm("recusal", {"scope": scope, "reason": reason}),
        run_in_threadpool(declare),
    )


# -- the supervisor's dashboard ------------------------------------------------------


def _inside(actor: Actor) -> Any:
    return select(Organisation.id).where(
        col(Organisation.path).startswith(actor.jurisdiction.path)
    )


def _escalated_today(session: Session, actor: Actor, at: datetime) -> int:
    """Tasks of the jurisdiction reported overdue or escalated since midnight."""
    midnight = datetime.combine(at.date(), time(0), tzinfo=SHANGHAI)
    query = (
        select(func.count(func.distinct(TaskEscalation.task_id)))
        .join(Task, col(Task.id) == col(TaskEscalation.task_id))
        .where(
            col(TaskEscalation.rung).in_((Rung.OVERDUE.value, Rung.ESCALATED.value)),
            col(TaskEscalation.fired_at) >= midnight,
            col(Task.candidate_org_id).in_(_inside(actor)),
        )
    )
    return int(session.exec(query).one())


def _extension_requests(session: Session, refs: list[str]) -> dict[str, Any]:
    """The latest extension request (days, reason) of each case, by case number."""
    if not refs:
        return {}
    rows = session.exec(
        select(Case.ref, CaseEvent.details)
        .join(CaseEvent, col(CaseEvent.case_id) == col(Case.id))
        .where(col(Case.ref).in_(refs), CaseEvent.kind == "extension.reason")
        .order_by(col(CaseEvent.id))
    ).all()
    return {ref: json.loads(details) for ref, details in rows}


def dashboard_context(
    session: Session, actor: Actor, locale: str, *, show: str = ""
) -> dict[str, Any]:
    """The head of the office's view (journeys.md, 李): counts, late work, approvals."""
    language = short(locale)
    at = now()

    def tasks(**wanted: Any) -> InboxPage:
        return inbox(session, actor, InboxFilter(**wanted), at, language)

    open_cases = session.exec(
        select(func.count())
        .select_from(Case)
        .where(
            col(Case.status) != "closed",
            col(Case.organisation_id).in_(_inside(actor)),
        )
    ).one()
    approvals = [
        *tasks(scope="mine", step=Step.APPROVE_EXTENSION.value, size=100).items,
        *tasks(scope="group", step=Step.APPROVE_EXTENSION.value, size=100).items,
    ]
    requests = _extension_requests(session, [t["case_ref"] for t in approvals])
    for approval in approvals:
        approval["request"] = requests.get(approval["case_ref"])
    colleagues = session.exec(
        select(User)
        .where(
            User.organisation_id == actor.organisation.id,
            User.role == Role.CASEWORKER,
            col(User.is_active),
        )
        .order_by(col(User.username))
    ).all()
    return {
        "counts": {
            "open_cases": int(open_cases),
            "at_risk": tasks(scope="all", at_risk=True, size=1).total,
            "overdue": tasks(scope="all", overdue=True, size=1).total,
            "escalated_today": _escalated_today(session, actor, at),
        },
        "office_tasks": tasks(
            scope="all",
            overdue=show == "overdue",
            at_risk=show == "at_risk",
            size=MAX_OFFICE_TASKS,
        ),
        "show": show,
        "approvals": approvals,
        "colleagues": [{"id": u.id, "name": u.display_name} for u in colleagues],
    }


def _dashboard_page(
    request: Request,
    session: Session,
    actor: Actor,
    locale: str,
    *,
    show: str = "",
    assigned: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = dashboard_context(session, actor, locale, show=show)
    context.update(assigned=assigned, action_error=error)
    return render(
        request, "supervisor.html", context, locale=locale, status_code=status_code
    )


@router.get("/supervisor")
def supervisor_page(
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    locale: Locale,
    show: Annotated[str, Query()] = "",
    assigned: Annotated[int | None, Query()] = None,
) -> Response:
    """The supervisor's dashboard of the office."""
    require_role(actor, Role.SUPERVISOR)
    shown = show if show in ("overdue", "at_risk") else ""
    return _dashboard_page(
        request, session, actor, locale, show=shown, assigned=assigned
    )


@router.post("/supervisor/assign")
async def assign_tasks(
    request: Request,
    actor: CurrentActor,
    database: DatabaseDep,
    locale: Locale,
    task_ids: Annotated[list[str] | None, Form()] = None,
    assignee_id: Annotated[str, Form()] = "",
) -> Response:
    """Reassign the chosen tasks to one colleague, all or none."""
    require_role(actor, Role.SUPERVISOR)
    error = None
    status_code = 400
    if not task_ids:
        error = gettext(locale, N_("Choose the tasks to reassign."))
    elif not assignee_id.isdigit():
        error = gettext(locale, N_("Choose an active colleague to assign to."))
    else:
        try:
            moved = await casework.assign(
                database, actor, list(task_ids), int(assignee_id)
            )
        except (NotAllowed, NotFound):
            raise
        except UserFacingError as failure:
            error = failure.text(locale)
            status_code = failure.status_code
        else:
            return RedirectResponse(f"/supervisor?assigned={moved}", status_code=303)

    def again() -> HTMLResponse:
        with database.read() as session:
            return _dashboard_page(
                request, session, actor, locale, error=error, status_code=status_code
            )

    return await run_in_threadpool(again)
