"""Casework shared by the JSON API and the pages: who may act, and acting.

The database decides who holds a task (claims and assignments use an
optimistic lock); the workflow decides what the procedure allows (Updates
with validators). Free text people type goes to the read model; the
workflow receives ids and codes only, so no personal data enters Temporal.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, literal, update
from sqlalchemy import select as select_columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.access import OUTSIDE, Actor
from api.errors import Conflict, NotAllowed, NotFound, UserFacingError
from api.temporal import TemporalConnection
from domain.calendar import WorkingCalendar
from domain.complaints import (
    ACCEPTANCE,
    MAX_EXTENSION_DAYS,
    AcceptanceOutcome,
    Category,
    Channel,
    RejectionReason,
    Step,
)
from domain.deadlines import SHANGHAI
from store import audit
from store.calendars import load_calendar
from store.cases import (
    ComplaintRegistration,
    add_case_event,
    declared_conflict,
    find_by_idempotency_key,
    open_repeats,
    register_complaint,
)
from store.db import Database
from store.models import (
    Case,
    Compound,
    Organisation,
    OrgKind,
    Recusal,
    Role,
    Task,
    TaskStatus,
    User,
)
from store.types import utcnow
from ui.i18n import N_
from workflows.complaint import (
    AddCluesInput,
    ComplaintInput,
    ComplaintWorkflow,
    DeliberationInput,
    ExtensionRequest,
)
from workflows.human_tasks import CompleteTaskInput, CompleteTaskResult

LIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED)
STAFF = (Role.CASEWORKER, Role.SUPERVISOR, Role.ADMINISTRATOR)


class InvalidForm(UserFacingError):
    """A form with fields to correct; `fields` maps a field to its message."""

    status_code = 422

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(N_("Please correct the marked fields."))
        self.fields = fields


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


# -- seeing cases ----------------------------------------------------------


def may_see_case(session: Session, actor: Actor, case: Case) -> bool:
    """Staff of the handling office and above, or of the agency it went to.

    A company never sees complaints through this (art. 39: it must not learn
    who complained).
    """
    organisation = session.get(Organisation, case.organisation_id)
    return sees_case(
        actor, organisation.path if organisation else None, case.transferred_to
    )


def sees_case(
    actor: Actor, office_path: str | None, transferred_to: int | None
) -> bool:
    """`may_see_case` on the facts it needs: the office's path, the agency."""
    if actor.role is Role.COMPANY:
        return False
    if transferred_to is not None and actor.organisation.id == transferred_to:
        return True
    return office_path is not None and actor.covers_path(office_path)


def may_reveal(actor: Actor, case: Case) -> bool:
    """Only the caseworkers of the case's office see the complainant (art. 39)."""
    return (
        actor.role in (Role.CASEWORKER, Role.SUPERVISOR)
        and actor.organisation.id == case.organisation_id
    )


def case_for(session: Session, actor: Actor, ref: str) -> Case:
    case = session.exec(select(Case).where(Case.ref == ref)).first()
    if case is None:
        raise NotFound(N_("No such case."))
    if not may_see_case(session, actor, case):
        raise NotAllowed(OUTSIDE)
    return case


def require_case_worker(actor: Actor, case: Case) -> None:
    """Case actions belong to the caseworkers and supervisors of its office."""
    if not may_reveal(actor, case):
        raise NotAllowed(N_("Only the caseworkers of the case may do this."))


def is_recused(session: Session, user_id: int, case: Case) -> bool:
    """Whether the user declared a conflict with either side (art. 79)."""
    conflict = declared_conflict(
        literal(user_id), literal(case.id), literal(case.company_id)
    )
    return bool(session.connection().execute(select_columns(conflict)).scalar())


RECUSED = N_(
    "You declared a conflict of interest with a side of this case (art. 79):"
    " you may not be assigned to it or decide it."
)


# -- registration ------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationForm:
    """What the registration form sends, before it is checked."""

    channel: str
    category: str
    facts: str
    clues: str
    compound_id: str
    complainant_name: str
    complainant_phone: str
    complainant_address: str = ""
    anonymous: bool = False
    idempotency_key: str = ""
    organisation_id: str = ""


@dataclass(frozen=True)
class Registered:
    ref: str
    created: bool
    repeat_of: list[str]
    acceptance_due: date
    acceptance_explanation: dict[str, str]
    provisional: bool


def check_registration(
    session: Session, form: RegistrationForm, actor: Actor | None
) -> ComplaintRegistration:
    """Check the form; every problem is named by its field."""
    errors: dict[str, str] = {}
    if form.channel not in {c.value for c in Channel}:
        errors["channel"] = N_("Choose how the complaint came in.")
    if actor is None and form.channel != Channel.WEBSITE:
        errors["channel"] = N_("Choose how the complaint came in.")
    if form.category not in {c.value for c in Category}:
        errors["category"] = N_("Choose a category.")
    if not form.facts.strip():
        errors["facts"] = N_("Describe the facts.")
    elif len(form.facts) > 5000:
        errors["facts"] = N_("The facts are too long (5000 characters at most).")
    if len(form.clues) > 5000:
        errors["clues"] = N_("The clues are too long (5000 characters at most).")
    if not form.anonymous and not form.complainant_name.strip():
        errors["complainant_name"] = N_(
            "Give the complainant's name, or mark it anonymous."
        )
    phone = form.complainant_phone.strip()
    if phone and not all(c.isdigit() or c in "+- " for c in phone):
        errors["complainant_phone"] = N_("A phone number has digits only.")
    compound = None
    if form.compound_id.isdigit():
        compound = session.get(Compound, int(form.compound_id))
    if compound is None:
        errors["compound_id"] = N_("Choose the compound.")
    elif actor is not None:
        street = session.get(Organisation, compound.street_id)
        if street is None or not actor.covers(street):
            raise NotAllowed(OUTSIDE)
    if errors:
        raise InvalidForm(errors)
    assert compound is not None
    return ComplaintRegistration(
        # The compound's street office handles the case (art. 76).
        organisation_id=compound.street_id,
        channel=form.channel,
        category=form.category,
        facts=form.facts.strip(),
        clues=form.clues.strip(),
        company_id=compound.company_id,
        compound_id=compound.id,
        complainant_name="" if form.anonymous else form.complainant_name.strip(),
        complainant_phone=phone,
        complainant_address=form.complainant_address.strip(),
        anonymous=form.anonymous,
        idempotency_key=form.idempotency_key.strip() or None,
        registered_by=actor.id if actor else None,
    )


def _explain(deadline: Any) -> dict[str, str]:
    return {"zh": deadline.explain("zh"), "en": deadline.explain("en")}


def _write_registration(
    database: Database, form: RegistrationForm, actor: Actor | None
) -> tuple[Case, bool, WorkingCalendar]:
    with database.read() as session:
        registration = check_registration(session, form, actor)
        existing = find_by_idempotency_key(session, registration.idempotency_key)
        if existing is not None:
            return existing, False, load_calendar(session)
    try:
        with database.write() as session:
            case = register_complaint(session, registration, shanghai_today().year)
            return case, True, load_calendar(session)
    except IntegrityError:
        # The same intake sent twice at once: the first one's case stands.
        with database.read() as session:
            existing = find_by_idempotency_key(session, registration.idempotency_key)
            if existing is None:
                raise
            return existing, False, load_calendar(session)


async def register(
    database: Database,
    temporal: TemporalConnection,
    task_queue: str,
    form: RegistrationForm,
    actor: Actor | None,
) -> Registered:
    """Register a complaint and start its workflow; the same key gives the same case."""
    case, created, calendar = await database.run(
        _write_registration, database, form, actor
    )
    registered_on = case.registered_at.astimezone(SHANGHAI).date()
    # Starting again is harmless: a second start joins the running workflow,
    # so a retry after a lost response never makes a second case.
    client = await temporal.client()
    await client.start_workflow(
        ComplaintWorkflow.run,
        ComplaintInput(
            case_ref=case.ref,
            case_id=case.id or 0,
            organisation_id=case.organisation_id,
            registered_on=registered_on.isoformat(),
        ),
        id=case.ref,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    acceptance = ACCEPTANCE.compute(registered_on, calendar)
    return Registered(
        ref=case.ref,
        created=created,
        repeat_of=[r for r in case.repeat_of.split(",") if r],
        acceptance_due=acceptance.due_date,
        acceptance_explanation=_explain(acceptance),
        provisional=acceptance.provisional,
    )


def repeats_for(
    session: Session, actor: Actor, compound_id: int, category: str
) -> list[str]:
    """Open cases the new one would repeat, for the form's warning (art. 78(4))."""
    compound = session.get(Compound, compound_id)
    if compound is None:
        return []
    street = session.get(Organisation, compound.street_id)
    if street is None or not actor.covers(street):
        raise NotAllowed(OUTSIDE)
    return open_repeats(
        session,
        company_id=compound.company_id,
        compound_id=compound.id,
        category=category,
    )


# -- tasks: who holds them -----------------------------------------------------


def task_for(session: Session, actor: Actor, task_id: str) -> tuple[Task, Case]:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(N_("No such task."))
    case = session.get(Case, task.case_id)
    assert case is not None
    office = session.get(Organisation, case.organisation_id)
    candidate = session.get(Organisation, task.candidate_org_id)
    require_task_visible(
        actor,
        office.path if office else None,
        case.transferred_to,
        candidate.path if candidate else None,
    )
    return task, case


def require_task_visible(
    actor: Actor,
    office_path: str | None,
    transferred_to: int | None,
    candidate_path: str | None,
) -> None:
    """Those who may see the case, and the staff where the task waits."""
    visible = sees_case(actor, office_path, transferred_to) or (
        candidate_path is not None and actor.covers_path(candidate_path)
    )
    if not visible:
        raise NotAllowed(OUTSIDE)


def is_candidate(actor: Actor, task: "Task | TaskAccess") -> bool:
    return (
        actor.organisation.id == task.candidate_org_id
        and actor.role is task.candidate_role
    )


@dataclass(frozen=True)
class TaskAccess:
    """What claiming or completing a task checks, read in one statement."""

    task_id: str
    step: str
    status: TaskStatus
    assignee_id: int | None
    candidate_org_id: int
    candidate_role: Role
    case_ref: str
    recused: bool


_tasks = Task.__table__  # type: ignore[attr-defined]
_cases = Case.__table__  # type: ignore[attr-defined]
_office = Organisation.__table__.alias("office")  # type: ignore[attr-defined]
_candidate = Organisation.__table__.alias("candidate")  # type: ignore[attr-defined]
# Built once: two of every case's requests (claim, complete) ask it. What
# task_for and is_recused read, as plain columns.
_TASK_ACCESS = (
    select_columns(
        _tasks.c.step,
        _tasks.c.status,
        _tasks.c.assignee_id,
        _tasks.c.candidate_org_id,
        _tasks.c.candidate_role,
        _cases.c.ref,
        _cases.c.transferred_to,
        _office.c.path.label("office_path"),
        _candidate.c.path.label("candidate_path"),
        declared_conflict(bindparam("user_id"), _cases.c.id, _cases.c.company_id).label(
            "recused"
        ),
    )
    .select_from(
        _tasks.join(_cases, _cases.c.id == _tasks.c.case_id)
        .outerjoin(_office, _office.c.id == _cases.c.organisation_id)
        .outerjoin(_candidate, _candidate.c.id == _tasks.c.candidate_org_id)
    )
    .where(_tasks.c.id == bindparam("task_id"))
)


def task_access(session: Session, actor: Actor, task_id: str) -> TaskAccess:
    """The task's facts for `actor`; 404 or 403 as `task_for` would refuse."""
    row = (
        session.connection()
        .execute(_TASK_ACCESS, {"task_id": task_id, "user_id": actor.id})
        .one_or_none()
    )
    if row is None:
        raise NotFound(N_("No such task."))
    require_task_visible(actor, row.office_path, row.transferred_to, row.candidate_path)
    return TaskAccess(
        task_id=task_id,
        step=row.step,
        status=row.status,
        assignee_id=row.assignee_id,
        candidate_org_id=row.candidate_org_id,
        candidate_role=row.candidate_role,
        case_ref=row.ref,
        recused=bool(row.recused),
    )


def _holder_name(session: Session, task: Task) -> str:
    holder = session.get(User, task.assignee_id) if task.assignee_id else None
    return holder.display_name if holder else ""


# The claim names the state it expects, so of two people claiming at once
# exactly one changes the row; with a version, also the version it saw.
_CLAIM = (
    update(_tasks)
    .where(_tasks.c.id == bindparam("task_id"), _tasks.c.status == TaskStatus.OPEN)
    .values(
        status=TaskStatus.CLAIMED,
        assignee_id=bindparam("assignee_id"),
        claimed_at=bindparam("claimed_at"),
        version=_tasks.c.version + 1,
    )
)
_CLAIM_VERSION = _CLAIM.where(_tasks.c.version == bindparam("seen_version"))


def _claim(database: Database, actor: Actor, task_id: str, version: int | None) -> None:
    # One transaction for the checks and the claim: the update still names
    # the state it expects, so of two people at once exactly one changes the
    # row (a second taker's checks may run before the first commits).
    values: dict[str, Any] = {
        "task_id": task_id,
        "assignee_id": actor.id,
        "claimed_at": utcnow(),
    }
    if version is not None:
        values["seen_version"] = version
    with database.write() as session:
        task = task_access(session, actor, task_id)
        if not is_candidate(actor, task):
            raise NotAllowed(N_("This task is for another group."))
        if task.recused:
            raise NotAllowed(RECUSED)
        if task.assignee_id == actor.id and task.status == TaskStatus.CLAIMED:
            return  # theirs already: a second click, or a step given to them
        claimed = session.connection().execute(
            _CLAIM if version is None else _CLAIM_VERSION, values
        )
        if claimed.rowcount == 1:
            audit.record(
                session,
                actor_id=actor.id,
                action="task.claimed",
                object_type="task",
                object_id=task_id,
            )
            return
    with database.read() as session:
        holder = session.get(Task, task_id)
        raise Conflict(
            N_("Someone else took this task first: {holder}."),
            holder=(_holder_name(session, holder) if holder else "") or "—",
        )


async def claim(
    database: Database, actor: Actor, task_id: str, version: int | None
) -> None:
    """Take an unclaimed task; of two people at once, exactly one wins."""
    await database.run(_claim, database, actor, task_id, version)


def _release(database: Database, actor: Actor, task_id: str) -> None:
    with database.write() as session:
        task, _case = task_for(session, actor, task_id)
        if task.assignee_id != actor.id and actor.role is not Role.SUPERVISOR:
            raise NotAllowed(N_("Only the holder or a supervisor may release a task."))
        released = session.exec(
            update(Task)
            .where(col(Task.id) == task_id, col(Task.status) == TaskStatus.CLAIMED)
            .values(status=TaskStatus.OPEN, assignee_id=None, version=Task.version + 1)
        )
        if released.rowcount != 1:
            raise Conflict(N_("This task is no longer held."))
        audit.record(
            session,
            actor_id=actor.id,
            action="task.released",
            object_type="task",
            object_id=task_id,
        )


async def release(database: Database, actor: Actor, task_id: str) -> None:
    """Give a claimed task back to its group's queue."""
    await database.run(_release, database, actor, task_id)


def _assign(
    database: Database, actor: Actor, task_ids: list[str], assignee_id: int
) -> int:
    if actor.role is not Role.SUPERVISOR:
        raise NotAllowed(N_("Only a supervisor may assign tasks."))
    with database.write() as session:
        assignee = session.get(User, assignee_id)
        if assignee is None or not assignee.is_active:
            raise UserFacingError(N_("Choose an active colleague to assign to."))
        moved = 0
        for task_id in task_ids:
            task, case = task_for(session, actor, task_id)
            candidate = session.get(Organisation, task.candidate_org_id)
            if candidate is None or not actor.covers(candidate):
                raise NotAllowed(OUTSIDE)
            if task.status not in LIVE:
                raise Conflict(N_("Task {task} is closed already."), task=task_id)
            if (
                assignee.organisation_id != task.candidate_org_id
                or assignee.role is not task.candidate_role
            ):
                raise UserFacingError(
                    N_("{name} is not in the group this task is for."),
                    name=assignee.display_name,
                )
            if is_recused(session, assignee_id, case):
                raise NotAllowed(RECUSED)
            task.assignee_id = assignee_id
            task.status = TaskStatus.CLAIMED
            task.claimed_at = utcnow()
            task.version += 1
            session.add(task)
            audit.record(
                session,
                actor_id=actor.id,
                action="task.assigned",
                object_type="task",
                object_id=task_id,
                details={"assignee_id": assignee_id},
            )
            moved += 1
        return moved


async def assign(
    database: Database, actor: Actor, task_ids: list[str], assignee_id: int
) -> int:
    """A supervisor assigns or reassigns tasks (all or none)."""
    return await database.run(_assign, database, actor, task_ids, assignee_id)


# -- tasks: completing them ---------------------------------------------------


@dataclass(frozen=True)
class CompletionForm:
    """A task form as sent: the outcome, codes and the text for the record."""

    outcome: str = ""
    reason: str = ""
    agency_id: str = ""
    note: str = ""
    no_conflict: bool = False
    extra: dict[str, str] = field(default_factory=dict)


# The steps whose record must say something (art. 81: each step has its own).
NOTE_REQUIRED = {
    Step.TRANSFER_REPLY: N_("Record the agency's reply."),
    Step.INVESTIGATE: N_("Record what the investigation found."),
    Step.VERIFY: N_("Record what was verified."),
    Step.FEEDBACK: N_("Record how and what the complainant was told."),
}


def check_completion(
    session: Session, step: Step, form: CompletionForm
) -> dict[str, str]:
    """The codes for the workflow; raises InvalidForm naming each bad field."""
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    if step is Step.ACCEPT:
        if form.outcome not in {o.value for o in AcceptanceOutcome}:
            errors["outcome"] = N_("Choose a decision.")
        if form.outcome == AcceptanceOutcome.NOT_ACCEPTED:
            if form.reason not in {r.value for r in RejectionReason}:
                errors["reason"] = N_("Choose one of the five reasons of art. 78.")
            codes["reason"] = form.reason
        if form.outcome == AcceptanceOutcome.TRANSFER:
            agency = (
                session.get(Organisation, int(form.agency_id))
                if form.agency_id.isdigit()
                else None
            )
            if agency is None or agency.kind is not OrgKind.DEPARTMENT:
                errors["agency_id"] = N_("Choose the agency the case goes to.")
            codes["agency_id"] = form.agency_id
        if not form.no_conflict:
            errors["no_conflict"] = N_(
                "Declare that you have no conflict of interest (art. 79)."
            )
    elif step is Step.APPROVE_EXTENSION:
        if form.outcome not in ("approve", "refuse"):
            errors["outcome"] = N_("Approve or refuse the request.")
        if form.outcome == "refuse" and not form.note.strip():
            errors["note"] = N_("Give the reason for the refusal.")
    elif step in NOTE_REQUIRED and not form.note.strip():
        errors["note"] = NOTE_REQUIRED[step]
    if len(form.note) > 5000:
        errors["note"] = N_("The record is too long (5000 characters at most).")
    if errors:
        raise InvalidForm(errors)
    return codes


_KEEP_RECORD = (
    update(_tasks)
    .where(
        _tasks.c.id == bindparam("task_id"),
        _tasks.c.status.in_(LIVE),
        or_(
            _tasks.c.assignee_id.is_(None),
            _tasks.c.assignee_id == bindparam("actor_id"),
        ),
    )
    .values(record=bindparam("record"))
)


def _prepare_completion(
    database: Database, actor: Actor, task_id: str, form: CompletionForm
) -> tuple[dict[str, str], str]:
    # The checks and the record's write in one transaction; the write is
    # still conditional on the task being live and not someone else's, so a
    # task that moved on since the checks read it is refused the same way.
    with database.write() as session:
        task = task_access(session, actor, task_id)
        if task.status not in LIVE:
            raise Conflict(N_("This task has been completed already."))
        if task.assignee_id not in (None, actor.id) or not is_candidate(actor, task):
            raise NotAllowed(N_("This task is held by someone else."))
        if task.recused:
            raise NotAllowed(RECUSED)
        codes = check_completion(session, Step(task.step), form)
        # The typed text stays in the read model; the workflow gets codes.
        record = json.dumps(
            {"note": form.note.strip(), **codes, **form.extra},
            ensure_ascii=False,
            sort_keys=True,
        )
        written = session.connection().execute(
            _KEEP_RECORD, {"task_id": task_id, "actor_id": actor.id, "record": record}
        )
        if written.rowcount != 1:
            raise Conflict(N_("This task has been completed already."))
    return codes, task.case_ref


def _failure_message(error: WorkflowUpdateFailedError) -> UserFacingError:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == "TaskNotOpen":
        return Conflict(N_("This task has been completed already."))
    return UserFacingError(
        N_("The procedure does not allow this now: {reason}"),
        reason=str(cause.message if isinstance(cause, ApplicationError) else cause),
    )


async def complete(
    database: Database,
    temporal: TemporalConnection,
    actor: Actor,
    task_id: str,
    form: CompletionForm,
) -> CompleteTaskResult:
    """Complete a task; of two people at once, exactly one wins (409 for the other)."""
    codes, ref = await database.run(_prepare_completion, database, actor, task_id, form)
    handle = (await temporal.client()).get_workflow_handle(ref)
    try:
        return await handle.execute_update(
            ComplaintWorkflow.complete_task,
            CompleteTaskInput(
                task_id=task_id,
                actor_id=actor.id,
                outcome=form.outcome or None,
                record=codes,
            ),
        )
    except WorkflowUpdateFailedError as error:
        raise _failure_message(error) from None
    except RPCError as error:
        raise Conflict(N_("This case is closed."), reason=str(error)) from None


# -- case actions other than tasks ---------------------------------------------


def _check_case_worker(database: Database, actor: Actor, ref: str) -> None:
    with database.read() as session:
        require_case_worker(actor, case_for(session, actor, ref))


def _note_event(
    database: Database, actor: Actor, ref: str, kind: str, details: dict[str, str]
) -> tuple[Case, int]:
    with database.write() as session:
        case = case_for(session, actor, ref)
        require_case_worker(actor, case)
        assert case.id is not None
        event_id = add_case_event(
            session, case_id=case.id, kind=kind, actor_id=actor.id, details=details
        )
        assert event_id is not None
        session.expunge(case)
        return case, event_id


async def _update(
    temporal: TemporalConnection, ref: str, update_name: Any, argument: Any
) -> str:
    try:
        client = await temporal.client()
        result: str = await client.get_workflow_handle(ref).execute_update(
            update_name, argument
        )
        return result
    except WorkflowUpdateFailedError as error:
        raise _failure_message(error) from None


async def add_clues(
    database: Database,
    temporal: TemporalConnection,
    actor: Actor,
    ref: str,
    clues: str,
    received_on: date,
) -> str:
    """New clues for a held case: back to acceptance with a fresh clock (art. 76)."""
    await database.run_reading(_check_case_worker, database, actor, ref)
    if not clues.strip():
        raise InvalidForm({"clues": N_("Write the new clues.")})

    def write() -> None:
        with database.write() as session:
            case = case_for(session, actor, ref)
            require_case_worker(actor, case)
            if case.status != "held":
                raise Conflict(N_("Only a held case takes new clues."))
            case.clues = (
                f"{case.clues}\n[{received_on.isoformat()}] {clues.strip()}".strip()
            )
            session.add(case)

    await database.run(write)
    return await _update(
        temporal,
        ref,
        ComplaintWorkflow.add_clues,
        AddCluesInput(actor_id=actor.id, received_on=received_on.isoformat()),
    )


async def request_extension(
    database: Database,
    temporal: TemporalConnection,
    actor: Actor,
    ref: str,
    days: str,
    reason: str,
) -> str:
    """Ask the supervisor for more time, with a reason (art. 80)."""
    await database.run_reading(_check_case_worker, database, actor, ref)
    errors = {}
    if not days.isdigit() or not 1 <= int(days) <= MAX_EXTENSION_DAYS:
        errors["days"] = N_("Ask for 1 to 30 days.")
    if not reason.strip():
        errors["reason"] = N_("Give the reason for the extension.")
    if errors:
        raise InvalidForm(errors)
    _case, event_id = await database.run(
        _note_event,
        database,
        actor,
        ref,
        "extension.reason",
        {"days": days, "reason": reason.strip()},
    )
    # The reason's text stays in the timeline; the workflow gets its id.
    return await _update(
        temporal,
        ref,
        ComplaintWorkflow.request_extension,
        ExtensionRequest(
            actor_id=actor.id, days=int(days), reason=f"case-event:{event_id}"
        ),
    )


async def record_deliberation(
    database: Database, temporal: TemporalConnection, actor: Actor, ref: str, note: str
) -> str:
    """Record a collective deliberation (集体研判); the clock runs on."""
    await database.run_reading(_check_case_worker, database, actor, ref)
    if not note.strip():
        raise InvalidForm({"note": N_("Record what was deliberated.")})
    _case, event_id = await database.run(
        _note_event, database, actor, ref, "deliberation.note", {"note": note.strip()}
    )
    return await _update(
        temporal,
        ref,
        ComplaintWorkflow.record_deliberation,
        DeliberationInput(actor_id=actor.id, note=f"case-event:{event_id}"),
    )


def declare_recusal(
    session: Session, actor: Actor, ref: str, scope: str, reason: str
) -> None:
    """Declare a conflict with this case's complainant or its company (art. 79)."""
    case = case_for(session, actor, ref)
    if scope not in ("case", "company"):
        raise InvalidForm({"scope": N_("Choose what the conflict is with.")})
    session.add(
        Recusal(
            user_id=actor.id,
            case_id=case.id if scope == "case" else None,
            company_id=case.company_id if scope == "company" else None,
            reason=reason.strip()[:300],
        )
    )
    # A task this person holds goes back to the queue.
    for task in session.exec(
        select(Task).where(
            Task.case_id == case.id,
            Task.assignee_id == actor.id,
            col(Task.status) == TaskStatus.CLAIMED,
        )
    ):
        task.status = TaskStatus.OPEN
        task.assignee_id = None
        task.version += 1
        session.add(task)
    assert case.id is not None
    add_case_event(
        session,
        case_id=case.id,
        kind="recusal.declared",
        actor_id=actor.id,
        details={"scope": scope},
    )
    audit.record(
        session,
        actor_id=actor.id,
        action="recusal.declared",
        object_type="case",
        object_id=ref,
        details={"scope": scope},
    )
