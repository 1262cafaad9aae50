"""Activities of the human-task machinery shared by every procedure."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from temporalio import activity

from activities.mail import Mailer, deliver, enqueue, render_mail
from domain.calendar import WorkingCalendar
from domain.complaints import STEP_NAMES, Step, label
from domain.deadlines import (
    SHANGHAI,
    PeriodKind,
    basis_label,
    compute_deadline,
    count_working_days,
)
from domain.escalation import Rung, plan_escalation, remaining_including
from store import audit
from store.calendars import load_calendar, open_deadline
from store.cases import add_case_event, declared_conflict
from store.db import Database
from store.models import (
    Case,
    Deadline,
    DeadlineStatus,
    Notification,
    Organisation,
    Role,
    Task,
    TaskEscalation,
    TaskStatus,
    User,
)
from store.types import utcnow
from workflows.human_tasks import (
    CloseTaskInput,
    FireRungInput,
    FireRungResult,
    OpenTaskInput,
    RefreshTaskInput,
    RungTime,
    TaskPlan,
)

LIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED)

# Built once: the same statements run for every task opened and closed.
_tasks = Task.__table__  # type: ignore[attr-defined]
_deadlines = Deadline.__table__  # type: ignore[attr-defined]
# The case a task opens on, and whether the task is there already (a retry).
_OPEN_ON = sa_select(
    col(Case.id),
    col(Case.organisation_id),
    col(Case.company_id),
    exists().where(_tasks.c.id == bindparam("task_id")).label("task_exists"),
).where(col(Case.ref) == bindparam("ref"))
_DEADLINE_BY_KEY = sa_select(
    _deadlines.c.id,
    _deadlines.c.status,
    _deadlines.c.kind,
    _deadlines.c.start_date,
    _deadlines.c.due_date,
    _deadlines.c.due_at,
).where(_deadlines.c.key == bindparam("key"))
_REOPEN_DEADLINE = (
    update(_deadlines)
    .where(_deadlines.c.id == bindparam("deadline_id"))
    .values(status=DeadlineStatus.OPEN)
)
_users = User.__table__  # type: ignore[attr-defined]
# Whether a step may go straight to a user: active, of the candidate group,
# and without a declared conflict with either side of the case (art. 79).
_ASSIGNABLE = sa_select(_users.c.id).where(
    _users.c.id == bindparam("user_id"),
    _users.c.is_active,
    _users.c.organisation_id == bindparam("org_id"),
    _users.c.role == bindparam("role"),
    ~declared_conflict(
        bindparam("user_id"), bindparam("case_id"), bindparam("company_id")
    ),
)
_TASK_TO_CLOSE = sa_select(
    col(Task.status),
    col(Task.record),
    col(Task.deadline_id),
    col(Task.case_id),
    col(Task.step),
).where(col(Task.id) == bindparam("id"))
_INSERT_TASK = insert(_tasks)
_CLOSE_TASK = (
    update(_tasks)
    .where(_tasks.c.id == bindparam("task_id"))
    .values(
        status=bindparam("status"),
        completed_at=bindparam("completed_at"),
        completed_by=bindparam("completed_by"),
        outcome=bindparam("outcome"),
        record=bindparam("record"),
        version=_tasks.c.version + 1,
    )
)
# A deadline shared by several steps (handling) stays open while any of
# them is open; the next step reopens it.
_SETTLE_DEADLINE = (
    update(_deadlines)
    .where(
        _deadlines.c.id == bindparam("deadline_id"),
        ~exists().where(
            _tasks.c.deadline_id == bindparam("deadline_id"),
            _tasks.c.status.in_(LIVE),
        ),
    )
    .values(status=bindparam("status"))
)
_KIND_ZH = {
    "working_days": "个工作日",
    "calendar_days": "日",
    "months": "个月",
    "years": "年",
}


def step_name(step: str) -> str:
    try:
        return label(STEP_NAMES, Step(step))
    except ValueError:
        return step


def deadline_text(deadline: Deadline) -> str:
    """The deadline as a mail cites it: its period and its legal basis."""
    period = f"{deadline.amount}{_KIND_ZH.get(deadline.kind, '')}"
    return f"{period}，{basis_label(deadline.basis)}"


@dataclass(frozen=True)
class _Due:
    """What a task's plan is computed from: its deadline's period and dates."""

    id: int
    kind: str
    start_date: date
    due_date: date
    due_at: datetime


def plan_for(session: Session, task: Task) -> TaskPlan:
    """The task's due instant and ladder, on the calendar now in force."""
    deadline = session.get(Deadline, task.deadline_id) if task.deadline_id else None
    return _plan(session, task.id, deadline)


def _plan(
    session: Session,
    task_id: str,
    deadline: Deadline | _Due | None,
    calendar: WorkingCalendar | None = None,
) -> TaskPlan:
    """The plan on `calendar`, or on the calendar in force when not given."""
    if deadline is None:
        return TaskPlan(task_id=task_id)
    if calendar is None:
        calendar = load_calendar(session)
    period = None
    if deadline.kind == PeriodKind.WORKING_DAYS:
        period = count_working_days(deadline.start_date, deadline.due_date, calendar)
    rungs = plan_escalation(deadline.start_date, deadline.due_date, period, calendar)
    return TaskPlan(
        task_id=task_id,
        due_at=deadline.due_at,
        rungs=[RungTime(rung=r.rung.value, at=r.at) for r in rungs],
    )


class TaskActivities:
    """Read-model writes and notifications for tasks; built by the worker."""

    def __init__(self, database: Database, mailer: Mailer, base_url: str) -> None:
        self.database = database
        self.mailer = mailer
        self.base_url = base_url

    # Opening and closing tasks is most of what the worker does; both write
    # with plain statements, inside the read model's write lock.

    def _open(self, request: OpenTaskInput) -> TaskPlan:
        with self.database.write() as session:
            connection = session.connection()
            case = connection.execute(
                _OPEN_ON, {"ref": request.case_ref, "task_id": request.task_id}
            ).one()
            if case.task_exists:
                task = session.get(Task, request.task_id)
                assert task is not None
                return plan_for(session, task)  # a retry: the task is there
            deadline = calendar = None
            if request.deadline is not None:
                # One calendar for the deadline and its plan, read once.
                calendar = load_calendar(session)
                deadline = self._deadline(
                    session, request, case.organisation_id, calendar
                )
            assignee = self._assignee(connection, request, case)
            connection.execute(
                _INSERT_TASK,
                {
                    "id": request.task_id,
                    "case_id": case.id,
                    "case_ref": request.case_ref,
                    "procedure": request.procedure,
                    "step": request.step,
                    "candidate_org_id": request.candidate_org_id,
                    "candidate_role": Role(request.candidate_role),
                    "priority": request.priority,
                    "status": TaskStatus.CLAIMED if assignee else TaskStatus.OPEN,
                    "assignee_id": assignee,
                    "claimed_at": utcnow() if assignee else None,
                    "version": 1,
                    "created_at": utcnow(),
                    "record": "{}",
                    "deadline_id": deadline.id if deadline else None,
                    "due_at": deadline.due_at if deadline else None,
                },
            )
            add_case_event(
                session,
                case_id=case.id,
                kind="task.opened",
                details={
                    "task_id": request.task_id,
                    "step": request.step,
                    "due_date": deadline.due_date.isoformat() if deadline else "",
                    "assignee_id": str(assignee or ""),
                },
                dedupe_key=f"{request.task_id}/opened",
            )
            audit.record(
                session,
                actor_id=None,
                action="task.opened",
                object_type="task",
                object_id=request.task_id,
                details={
                    "case_ref": request.case_ref,
                    "step": request.step,
                    "assignee_id": assignee,
                },
            )
            return _plan(session, request.task_id, deadline, calendar)

    @staticmethod
    def _assignee(
        connection: Connection, request: OpenTaskInput, case: Any
    ) -> int | None:
        """The user the step goes to directly, if they may take it; else None."""
        if request.assignee_id is None:
            return None
        found = connection.execute(
            _ASSIGNABLE,
            {
                "user_id": request.assignee_id,
                "org_id": request.candidate_org_id,
                "role": Role(request.candidate_role),
                "case_id": case.id,
                "company_id": case.company_id,
            },
        ).first()
        return request.assignee_id if found else None

    def _deadline(
        self,
        session: Session,
        request: OpenTaskInput,
        organisation_id: int,
        calendar: WorkingCalendar,
    ) -> _Due:
        wanted = request.deadline
        assert wanted is not None
        connection = session.connection()
        found = connection.execute(_DEADLINE_BY_KEY, {"key": wanted.key}).first()
        if found is not None:
            # A later step under the same deadline (handling): it runs on.
            if found.status != DeadlineStatus.OPEN:
                connection.execute(_REOPEN_DEADLINE, {"deadline_id": found.id})
            return _Due(
                found.id, found.kind, found.start_date, found.due_date, found.due_at
            )
        computed = compute_deadline(
            PeriodKind(wanted.kind),
            date.fromisoformat(wanted.start),
            wanted.amount,
            calendar,
            wanted.basis,
        )
        row = open_deadline(
            session,
            subject=wanted.subject,
            computed=computed,
            case_ref=request.case_ref,
            organisation_id=organisation_id,
            key=wanted.key,
        )
        assert row.id is not None
        return _Due(row.id, row.kind, row.start_date, row.due_date, row.due_at)

    @activity.defn(name="open_task")
    async def open_task(self, request: OpenTaskInput) -> TaskPlan:
        """Write the task (once) and return its deadline's escalation plan."""
        return await self.database.run(self._open, request)

    def _refresh(self, request: RefreshTaskInput) -> TaskPlan:
        with self.database.read() as session:
            task = session.get(Task, request.task_id)
            if task is None:
                return TaskPlan(task_id=request.task_id)
            return plan_for(session, task)

    @activity.defn(name="refresh_task")
    async def refresh_task(self, request: RefreshTaskInput) -> TaskPlan:
        """The plan again, after the calendar or the deadline changed."""
        return await self.database.run_reading(self._refresh, request)

    def _close(self, request: CloseTaskInput) -> None:
        with self.database.write() as session:
            connection = session.connection()
            task = connection.execute(_TASK_TO_CLOSE, {"id": request.task_id}).first()
            if task is None or task.status not in LIVE:
                return  # a retry: closed already
            status = TaskStatus.CANCELLED if request.cancelled else TaskStatus.COMPLETED
            # The text people typed was written by the web app before the
            # Update; the workflow adds only its codes.
            record = {**json.loads(task.record or "{}"), **request.record}
            connection.execute(
                _CLOSE_TASK,
                {
                    "task_id": request.task_id,
                    "status": status,
                    "completed_at": utcnow(),
                    "completed_by": request.actor_id,
                    "outcome": request.outcome,
                    "record": json.dumps(record, ensure_ascii=False, sort_keys=True),
                },
            )
            if task.deadline_id is not None:
                self._settle_deadline(connection, task.deadline_id, status)
            kind = "task.cancelled" if request.cancelled else "task.completed"
            add_case_event(
                session,
                case_id=task.case_id,
                kind=kind,
                actor_id=request.actor_id,
                details={
                    "task_id": request.task_id,
                    "step": task.step,
                    "outcome": request.outcome or "",
                    **record,
                },
                dedupe_key=f"{request.task_id}/closed",
            )
            audit.record(
                session,
                actor_id=request.actor_id,
                action=kind,
                object_type="task",
                object_id=request.task_id,
                details={"outcome": request.outcome or ""},
            )

    @staticmethod
    def _settle_deadline(
        connection: Connection, deadline_id: int, status: TaskStatus
    ) -> None:
        connection.execute(
            _SETTLE_DEADLINE,
            {
                "deadline_id": deadline_id,
                "status": DeadlineStatus.CANCELLED
                if status is TaskStatus.CANCELLED
                else DeadlineStatus.MET,
            },
        )

    @activity.defn(name="close_task")
    async def close_task(self, request: CloseTaskInput) -> None:
        """Mark the task completed or cancelled, with its record."""
        await self.database.run(self._close, request)

    def _recipients(self, session: Session, task: Task, rung: Rung) -> list[User]:
        if rung in (Rung.REMINDER, Rung.DUE_TODAY):
            if task.assignee_id is not None:
                assignee = session.get(User, task.assignee_id)
                return [assignee] if assignee and assignee.is_active else []
            return self._members(session, task.candidate_org_id, (task.candidate_role,))
        if rung is Rung.OVERDUE:
            return self._members(session, task.candidate_org_id, (Role.SUPERVISOR,))
        # The next level up: the supervisors or administrators of the first
        # organisation above the task's that has any.
        organisation = session.get(Organisation, task.candidate_org_id)
        while organisation is not None and organisation.parent_id is not None:
            organisation = session.get(Organisation, organisation.parent_id)
            assert organisation is not None and organisation.id is not None
            found = self._members(
                session, organisation.id, (Role.SUPERVISOR, Role.ADMINISTRATOR)
            )
            if found:
                return found
        return []

    @staticmethod
    def _members(session: Session, org_id: int, roles: tuple[Role, ...]) -> list[User]:
        return list(
            session.exec(
                select(User).where(
                    User.organisation_id == org_id,
                    col(User.role).in_(roles),
                    col(User.is_active),
                )
            )
        )

    def _escalate(
        self, request: FireRungInput, today: date | None = None
    ) -> tuple[bool, list[int]]:
        """Record the rung once and queue its mails; returns them to send.

        `today` (Asia/Shanghai) counts the working days the mail says are
        left; the host's clock serves when it is not given.
        """
        rung = Rung(request.rung)
        with self.database.write() as session:
            task = session.get(Task, request.task_id)
            if task is None or task.status not in LIVE:
                return False, []
            key_prefix = f"task/{task.id}/{rung.value}/"
            fired = session.exec(
                select(TaskEscalation).where(
                    TaskEscalation.task_id == task.id, TaskEscalation.rung == rung.value
                )
            ).first()
            if fired is not None:
                # A retry after the rung was recorded: send what is not sent.
                return True, [
                    n.id
                    for n in session.exec(
                        select(Notification).where(
                            col(Notification.key).startswith(key_prefix)
                        )
                    )
                    if n.id is not None
                ]
            recipients = self._recipients(session, task, rung)
            deadline = (
                session.get(Deadline, task.deadline_id) if task.deadline_id else None
            )
            organisation = session.get(Organisation, task.candidate_org_id)
            holder = session.get(User, task.assignee_id) if task.assignee_id else None
            remaining = 0
            if deadline is not None:
                today = today or utcnow().astimezone(SHANGHAI).date()
                remaining = remaining_including(
                    today, deadline.due_date, load_calendar(session)
                )
            ids = []
            for user in recipients:
                subject, body = render_mail(
                    f"task_{rung.value}.txt",
                    name=user.display_name,
                    case_ref=task.case_ref,
                    step=step_name(task.step),
                    due_date=deadline.due_date.isoformat() if deadline else "",
                    deadline=deadline_text(deadline) if deadline else "",
                    remaining=remaining,
                    holder=holder.display_name if holder else "",
                    organisation=organisation.name if organisation else "",
                    url=f"{self.base_url}/cases/{task.case_ref}",
                )
                notification = enqueue(
                    session,
                    key=f"{key_prefix}{user.id}",
                    recipient_id=user.id,
                    recipient_email=user.email,
                    subject=subject,
                    body=body,
                )
                assert notification.id is not None
                ids.append(notification.id)
            session.add(
                TaskEscalation(
                    task_id=task.id,
                    rung=rung.value,
                    notified=",".join(str(u.id) for u in recipients),
                )
            )
            add_case_event(
                session,
                case_id=task.case_id,
                kind=f"task.{rung.value}",
                details={
                    "task_id": task.id,
                    "step": task.step,
                    "notified": ",".join(str(u.id) for u in recipients),
                },
                dedupe_key=f"{task.id}/{rung.value}",
            )
            audit.record(
                session,
                actor_id=None,
                action=f"task.{rung.value}",
                object_type="task",
                object_id=task.id,
                details={"notified": [u.id for u in recipients]},
            )
            return True, ids

    @activity.defn(name="fire_rung")
    async def fire_rung(self, request: FireRungInput) -> FireRungResult:
        """Fire one rung of a task's ladder: recorded once, mailed once."""
        # The day on the Temporal server's clock when this attempt was
        # scheduled: the host's day in production, and the virtual day when a
        # test server skips time (the host's clock would count from the real
        # date and tell a reminder a week early that it has 8 days left).
        scheduled = activity.info().current_attempt_scheduled_time
        today = scheduled.astimezone(SHANGHAI).date()
        fired, ids = await self.database.run(self._escalate, request, today)
        sent = 0
        for notification_id in ids:
            if await deliver(self.database, self.mailer, notification_id):
                sent += 1
        return FireRungResult(fired=fired, notified=sent)
