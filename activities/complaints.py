"""Activities of the complaint procedure: the case row and its deadlines."""

import json
from datetime import date

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select
from temporalio import activity

from domain.deadlines import PeriodKind, compute_deadline
from store import audit
from store.calendars import load_calendar, record_move
from store.cases import add_case_event, case_by_ref
from store.db import Database
from store.models import Case, CaseEvent, Deadline, DeadlineStatus, Task, TaskStatus
from store.types import utcnow
from workflows.calendar_rollout import OpenCasesPage, OpenCasesQuery
from workflows.complaint import CaseRecordInput, ExtendDeadlineInput

_CASE_ID = select(col(Case.id)).where(col(Case.ref) == bindparam("ref"))


def typed_text(session: Session, reference: str, field: str) -> str:
    """The text a person typed, which the workflow knows by its event id only."""
    prefix = "case-event:"
    if not reference.startswith(prefix) or not reference[len(prefix) :].isdigit():
        return reference
    event = session.get(CaseEvent, int(reference[len(prefix) :]))
    if event is None:
        return ""
    return str(json.loads(event.details).get(field, ""))


class ComplaintActivities:
    """Built by the worker with the database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _record(self, change: CaseRecordInput) -> None:
        # Plain statements: this runs several times for every case.
        with self.database.write() as session:
            connection = session.connection()
            case_id = connection.execute(
                _CASE_ID, {"ref": change.case_ref}
            ).scalar_one()
            assert case_id is not None
            event_id = add_case_event(
                session,
                case_id=case_id,
                kind=change.event,
                actor_id=change.actor_id,
                details=change.details,
                dedupe_key=change.dedupe_key,
            )
            if event_id is None:
                return  # a retry: applied already
            values: dict[str, object] = {}
            if change.status is not None:
                values["status"] = change.status
            if change.outcome is not None:
                values["outcome"] = change.outcome
            if change.outcome_reason is not None:
                values["outcome_reason"] = change.outcome_reason
            if change.transferred_to is not None:
                values["transferred_to"] = change.transferred_to
            if change.accepted_on is not None:
                values["accepted_on"] = date.fromisoformat(change.accepted_on)
            if change.held is not None:
                values["held_since"] = utcnow() if change.held else None
            if change.deliberation is not None:
                values["deliberation"] = change.deliberation
            if change.closed:
                values["closed_at"] = utcnow()
                connection.execute(
                    update(Deadline)
                    .where(
                        col(Deadline.case_ref) == change.case_ref,
                        col(Deadline.status) == DeadlineStatus.OPEN,
                    )
                    .values(status=DeadlineStatus.MET)
                )
            if values:
                connection.execute(
                    update(Case).where(col(Case.id) == case_id).values(**values)
                )
            audit.record(
                session,
                actor_id=change.actor_id,
                action=f"case.{change.event}",
                object_type="case",
                object_id=change.case_ref,
                details=change.details,
            )

    @activity.defn(name="record_case")
    async def record_case(self, change: CaseRecordInput) -> None:
        """Apply a change to the case row and add it to the timeline, once."""
        await self.database.run(self._record, change)

    def _extend(self, extension: ExtendDeadlineInput) -> None:
        with self.database.write() as session:
            case = case_by_ref(session, extension.case_ref)
            assert case.id is not None
            deadline = session.exec(
                select(Deadline).where(Deadline.key == extension.deadline_key)
            ).one()
            if deadline.amount == extension.amount:
                return  # a retry: extended already
            fresh = compute_deadline(
                PeriodKind(deadline.kind),
                deadline.start_date,
                extension.amount,
                load_calendar(session),
                deadline.basis,
            )
            old_due = deadline.due_date
            deadline.amount = extension.amount
            record_move(
                session,
                deadline,
                fresh,
                reason=f"批准延期，累计{extension.extension_days}日（第80条）："
                f"{typed_text(session, extension.reason, 'reason')}",
                actor_id=extension.actor_id,
            )
            for task in session.exec(
                select(Task).where(
                    Task.deadline_id == deadline.id,
                    col(Task.status).in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
                )
            ):
                task.due_at = deadline.due_at
                session.add(task)
            case.extension_days = extension.extension_days
            session.add(case)
            add_case_event(
                session,
                case_id=case.id,
                kind="extension.approved",
                actor_id=extension.actor_id,
                details={
                    "days": str(extension.extension_days),
                    "old_due_date": old_due.isoformat(),
                    "new_due_date": deadline.due_date.isoformat(),
                    "original_due_date": deadline.original_due_date.isoformat(),
                },
                dedupe_key=f"{extension.deadline_key}/extension/{extension.amount}",
            )

    @activity.defn(name="extend_deadline")
    async def extend_deadline(self, extension: ExtendDeadlineInput) -> None:
        """Move the handling deadline by the approved extension (art. 80)."""
        await self.database.run(self._extend, extension)


class CaseQueryActivities:
    """Reads of the case table that workflows need; built by the worker."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _open_refs(self, query: OpenCasesQuery) -> OpenCasesPage:
        with self.database.read() as session:
            rows = session.exec(
                select(Case.id, Case.ref)
                .where(col(Case.id) > query.after_case_id, Case.status != "closed")
                .order_by(col(Case.id))
                .limit(query.limit)
            ).all()
        if not rows:
            return OpenCasesPage(refs=[], last_id=query.after_case_id)
        return OpenCasesPage(refs=[ref for _, ref in rows], last_id=rows[-1][0] or 0)

    @activity.defn(name="open_case_refs")
    async def open_case_refs(self, query: OpenCasesQuery) -> OpenCasesPage:
        """A page of open cases after a case id, in id order."""
        return await self.database.run_reading(self._open_refs, query)
