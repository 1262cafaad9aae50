"""A complaint handled directly, from registration to the archive."""

from datetime import date

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from store.cases import case_by_ref
from store.db import Database
from tests.conftest import user_id
from tests.workflows.complaint_helpers import complete, open_tasks, register, start
from tests.workflows.conftest import mail_settings, new_worker


async def test_complaint_handled_directly_closes_the_loop(
    env: WorkflowEnvironment, database: Database, smtp_sink
) -> None:
    host, port, _folder = smtp_sink
    case = register(database)
    wang = user_id(database, "wang")

    async with new_worker(env.client, mail_settings(host, port), database) as queue:
        handle = await start(env.client, queue, case, date(2026, 9, 24))
        steps = []
        for outcome in ("handle", None, None, None, None):
            while not (tasks := open_tasks(database, case.ref)):
                await env.sleep(1)
            (task,) = tasks
            steps.append(task.step)
            await complete(handle, task.id, wang, outcome)
        result = await handle.result()
        history = await handle.fetch_history()

    assert steps == ["accept", "investigate", "verify", "feedback", "archive"]
    # One escalation clock for the whole case: its timer, set for the
    # acceptance's first rung, is neither replaced nor cancelled as the
    # handling steps follow each other (their rungs all fall later).
    kinds = [EventType.Name(event.event_type) for event in history.events]
    assert kinds.count("EVENT_TYPE_TIMER_STARTED") == 1
    assert "EVENT_TYPE_TIMER_CANCELED" not in kinds
    assert result.status == "closed"
    with database.read() as session:
        closed = case_by_ref(session, case.ref)
    assert closed.status == "closed"
    assert closed.accepted_on is not None
