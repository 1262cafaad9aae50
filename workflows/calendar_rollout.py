"""Tell every open case that the working calendar changed (procedures.md §1).

Loading a year's schedule recomputes the stored deadlines at once; running
workflows must also move their timers. This workflow pages through the open
cases and signals each, durably: a restart resumes where it stopped, and a
province of open cases does not hold an HTTP request.
"""

from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.complaint import CalendarChanged
    from workflows.shared import DATABASE_RETRY, DATABASE_TIMEOUT

PAGE_SIZE = 200


@dataclass
class CalendarRolloutInput:
    calendar_version: int
    after_case_id: int = 0
    signalled: int = 0


@dataclass
class OpenCasesPage:
    refs: list[str]
    last_id: int


@dataclass
class OpenCasesQuery:
    after_case_id: int
    limit: int


def rollout_workflow_id(calendar_version: int) -> str:
    return f"calendar-rollout-{calendar_version}"


@workflow.defn
class CalendarRolloutWorkflow:
    """Signal `calendar_changed` to every open case workflow."""

    @workflow.run
    async def run(self, rollout: CalendarRolloutInput) -> int:
        after, signalled = rollout.after_case_id, rollout.signalled
        while True:
            page: OpenCasesPage = await workflow.execute_activity(
                "open_case_refs",
                OpenCasesQuery(after_case_id=after, limit=PAGE_SIZE),
                result_type=OpenCasesPage,
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
            )
            if not page.refs:
                return signalled
            for ref in page.refs:
                handle = workflow.get_external_workflow_handle(ref)
                try:
                    await handle.signal(
                        "calendar_changed", CalendarChanged(rollout.calendar_version)
                    )
                    signalled += 1
                except ApplicationError:
                    # Closed since the page was read: nothing left to move.
                    workflow.logger.info("case %s closed before the signal", ref)
            after = page.last_id
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    CalendarRolloutInput(rollout.calendar_version, after, signalled)
                )
