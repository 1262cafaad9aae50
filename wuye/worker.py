"""The Temporal worker: workflows and activities, registered explicitly."""

import logging
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import (
    SandboxedWorkflowRunner,
    SandboxRestrictions,
)

from activities.calendar import CalendarActivities
from activities.complaints import CaseQueryActivities, ComplaintActivities
from activities.mail import Mailer
from activities.tasks import TaskActivities
from store.db import Database, get_database
from workflows.calendar_rollout import CalendarRolloutWorkflow
from workflows.calendar_watch import (
    CALENDAR_WATCH_ID,
    CalendarWatchInput,
    CalendarWatchWorkflow,
)
from workflows.complaint import ComplaintWorkflow
from workflows.payloads import DATA_CONVERTER
from wuye.settings import Settings, get_settings

logger = logging.getLogger(__name__)

WORKFLOWS = [CalendarWatchWorkflow, CalendarRolloutWorkflow, ComplaintWorkflow]

# Temporal's sandbox re-imports a workflow's module for every new run and
# proxies what workflow code touches, to catch code that would not replay
# (the clock, randomness, I/O). Measured on the complaint procedure
# (bench/README.md), that costs the worker more CPU than the procedure's own
# work, so workers run the workflows unsandboxed: the procedures read time
# and randomness only through `workflow` and keep no module state. The
# sandbox stays where it catches mistakes: every test runs its workers in it
# (WORKFLOW_SANDBOX=true), and the committed histories replay in it.
SANDBOXED_RUNNER = SandboxedWorkflowRunner(
    # Our own packages are imported once, not per run.
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "domain", "workflows"
    )
)


def workflow_runner(settings: Settings) -> WorkflowRunner:
    return (
        SANDBOXED_RUNNER if settings.workflow_sandbox else UnsandboxedWorkflowRunner()
    )


def build_worker(
    client: Client, settings: Settings, database: Database, task_queue: str
) -> Worker:
    """A worker with every workflow and the activities' dependencies."""
    mailer = Mailer(settings)
    calendar = CalendarActivities(database, mailer, settings.public_base_url)
    tasks = TaskActivities(database, mailer, settings.public_base_url)
    complaints = ComplaintActivities(database)
    cases = CaseQueryActivities(database)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(settings),
        activities=[
            calendar.check_next_year,
            calendar.warn_administrators,
            tasks.open_task,
            tasks.refresh_task,
            tasks.close_task,
            tasks.fire_rung,
            complaints.record_case,
            complaints.extend_deadline,
            cases.open_case_refs,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=16),
    )


async def ensure_schedules(client: Client, task_queue: str) -> None:
    """Create the daily calendar watch unless it exists."""
    try:
        await client.create_schedule(
            CALENDAR_WATCH_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    CalendarWatchWorkflow.run,
                    CalendarWatchInput(),
                    id=CALENDAR_WATCH_ID,
                    task_queue=task_queue,
                ),
                # 08:00 Beijing time, when the administrators start work.
                spec=ScheduleSpec(
                    calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(8)])],
                    time_zone_name="Asia/Shanghai",
                ),
            ),
        )
    except ScheduleAlreadyRunningError:
        # Every worker start comes here after the first; an existing schedule
        # is left as it is, so a changed spec needs the schedule deleted.
        logger.info("schedule %s exists", CALENDAR_WATCH_ID)


async def run_worker() -> None:
    settings = get_settings()
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
    await ensure_schedules(client, settings.temporal_task_queue)
    worker = build_worker(
        client, settings, get_database(), settings.temporal_task_queue
    )
    logger.info("worker polling task queue %s", settings.temporal_task_queue)
    await worker.run()
