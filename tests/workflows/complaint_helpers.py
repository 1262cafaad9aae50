"""Helpers for complaint workflow tests: register a case, act on its tasks."""

from datetime import date

from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle

from store.cases import ComplaintRegistration, register_complaint
from store.db import Database
from store.models import Case, Compound, Organisation, Task, TaskStatus
from tests.conftest import user_id
from workflows.complaint import ComplaintInput, ComplaintResult, ComplaintWorkflow
from workflows.human_tasks import CompleteTaskInput, CompleteTaskResult


def register(
    database: Database, *, category: str = "lifts", key: str | None = None
) -> Case:
    """Register a complaint about 和平花园 at 和平街道 as 王 would."""
    with database.write() as session:
        street = session.exec(
            select(Organisation).where(Organisation.code == "S1")
        ).one()
        compound = session.exec(select(Compound).where(Compound.code == "XQ-001")).one()
        case = register_complaint(
            session,
            ComplaintRegistration(
                organisation_id=street.id or 0,
                channel="phone",
                category=category,
                facts="电梯停运一周",
                clues="3号楼1单元",
                company_id=compound.company_id,
                compound_id=compound.id,
                complainant_name="张三",
                complainant_phone="13812345678",
                idempotency_key=key,
                registered_by=user_id(database, "wang"),
            ),
            year=2026,
        )
        session.expunge(case)
        return case


async def start(
    client: Client, task_queue: str, case: Case, registered_on: date
) -> WorkflowHandle[ComplaintWorkflow, ComplaintResult]:
    return await client.start_workflow(
        ComplaintWorkflow.run,
        ComplaintInput(
            case_ref=case.ref,
            case_id=case.id or 0,
            organisation_id=case.organisation_id,
            registered_on=registered_on.isoformat(),
        ),
        id=case.ref,
        task_queue=task_queue,
    )


def open_tasks(database: Database, case_ref: str) -> list[Task]:
    with database.read() as session:
        return list(
            session.exec(
                select(Task)
                .where(
                    Task.case_ref == case_ref,
                    col(Task.status).in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
                )
                .order_by(col(Task.created_at))
            )
        )


async def complete(
    handle: WorkflowHandle[ComplaintWorkflow, ComplaintResult],
    task_id: str,
    actor_id: int,
    outcome: str | None = None,
    **record: str,
) -> CompleteTaskResult:
    return await handle.execute_update(
        ComplaintWorkflow.complete_task,
        CompleteTaskInput(
            task_id=task_id, actor_id=actor_id, outcome=outcome, record=record
        ),
    )
