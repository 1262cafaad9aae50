"""Human tasks inside a workflow: open, wait for completion, escalate.

Every procedure reuses this. A task is opened by an activity that writes it
to the read model and returns its deadline's escalation plan; the workflow
then waits for the completion, which the API sends as the `complete_task`
Update after checking who may act. While the task is open, its escalation
ladder runs on durable timers: each rung fires once, through an activity.

The dataclasses here are the payloads: ids, codes, dates and text typed for
the record; never a party's personal data.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from workflows.shared import DATABASE_RETRY, DATABASE_TIMEOUT, MAIL_RETRY, MAIL_TIMEOUT


@dataclass
class DeadlineRequest:
    """A legal deadline to keep in the read model, identified by `key`."""

    key: str
    kind: str  # a domain.deadlines.PeriodKind value
    start: str  # ISO date of the triggering event (Asia/Shanghai)
    amount: int
    basis: str  # e.g. "art. 76"
    subject: str  # what the deadline is for, e.g. "acceptance"


@dataclass
class OpenTaskInput:
    task_id: str
    case_ref: str
    procedure: str
    step: str
    candidate_org_id: int
    candidate_role: str
    deadline: DeadlineRequest | None = None
    priority: int = 0
    # Who the step goes to directly: the caseworker carrying the case. The
    # activity gives it to them only if they may take it (active, in the
    # candidate group, no declared conflict); otherwise it waits in the queue.
    assignee_id: int | None = None


@dataclass
class RungTime:
    rung: str
    at: datetime


@dataclass
class TaskPlan:
    """When the task is due and when each rung of its ladder fires."""

    task_id: str
    due_at: datetime | None = None
    rungs: list[RungTime] = field(default_factory=list)


@dataclass
class RefreshTaskInput:
    task_id: str


@dataclass
class CloseTaskInput:
    task_id: str
    actor_id: int | None
    outcome: str | None
    record: dict[str, str]
    cancelled: bool = False


@dataclass
class FireRungInput:
    task_id: str
    rung: str


@dataclass
class FireRungResult:
    fired: bool
    notified: int = 0


@dataclass
class CompleteTaskInput:
    """A person's completion of a task, sent as an Update by the API."""

    task_id: str
    actor_id: int
    outcome: str | None = None
    # Codes and text for the record: a reason code, an agency id, findings.
    record: dict[str, str] = field(default_factory=dict)


@dataclass
class CompleteTaskResult:
    task_id: str
    status: str
    open_tasks: list[str]


class TaskNotOpen(ApplicationError):
    """The task was completed or cancelled already (the 409 of the API)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"task {task_id} is not open", type="TaskNotOpen", non_retryable=True
        )


@dataclass
class _OpenTask:
    step: str
    outcomes: frozenset[str]
    plan: TaskPlan
    fired: set[str] = field(default_factory=set)
    completion: CompleteTaskInput | None = None
    replanned: bool = False
    # False while open_task runs: its plan is not there yet to be replanned.
    planned: bool = False


def _ladder_ended(ladder: "asyncio.Task[None]") -> None:
    """Take a ladder's outcome, so that none is left unread.

    A ladder ends only when its task closes. Cancelled while a rung's
    activity is under way, it ends with that activity's cancellation, which
    is expected; anything else is a fault to see in the worker's log.
    """
    if ladder.cancelled():
        return
    error = ladder.exception()
    if error is None or (
        isinstance(error, ActivityError) and isinstance(error.cause, CancelledError)
    ):
        return
    workflow.logger.error("an escalation ladder stopped: %r", error)


async def _refreshed_plan(task_id: str) -> TaskPlan:
    """The task's plan again, after the calendar or its deadline changed."""
    return await workflow.execute_activity(
        "refresh_task",
        RefreshTaskInput(task_id),
        result_type=TaskPlan,
        start_to_close_timeout=DATABASE_TIMEOUT,
        retry_policy=DATABASE_RETRY,
    )


async def _fire_rung(task_id: str, rung: str) -> FireRungResult:
    return await workflow.execute_activity(
        "fire_rung",
        FireRungInput(task_id=task_id, rung=rung),
        result_type=FireRungResult,
        start_to_close_timeout=MAIL_TIMEOUT,
        retry_policy=MAIL_RETRY,
    )


# Runs started before this change give each task a ladder of its own, each
# with its own timer; later runs keep one clock for all of their open tasks.
ESCALATION_CLOCK = "escalation-clock"


class HumanTasks:
    """The tasks a workflow has open, with their ladders; one per workflow.

    One clock serves the ladders of every open task: a single timer set for
    the earliest rung still to fire. A step that follows another under the
    same deadline (the four handling steps) leaves the timer as it is, and a
    timer set earlier than the next rung (the previous step's) is kept too:
    when it fires, the clock finds nothing due and sets the next one.
    """

    def __init__(self, case_ref: str, procedure: str) -> None:
        self.case_ref = case_ref
        self.procedure = procedure
        self.open: dict[str, _OpenTask] = {}
        self.counter = 0
        # Rises whenever the workflow parks (waits for people or ends): an
        # Update that completed a task returns once the workflow has moved on.
        self.parked = 0
        self._one_clock: bool | None = None
        self._clock: asyncio.Task[None] | None = None
        # Set when a task opens or a plan changes: the clock looks again.
        self._clock_dirty = False
        # The rung being fired: (task id, its activity), cancelled if the
        # task closes meanwhile, as its own ladder would have been.
        self._firing: tuple[str, asyncio.Task[Any]] | None = None

    def _uses_clock(self) -> bool:
        if self._one_clock is None:
            self._one_clock = workflow.patched(ESCALATION_CLOCK)
        return self._one_clock

    def validate(self, completion: CompleteTaskInput) -> None:
        task = self.open.get(completion.task_id)
        if task is None or task.completion is not None:
            raise TaskNotOpen(completion.task_id)
        if task.outcomes and completion.outcome not in task.outcomes:
            raise ApplicationError(
                f"outcome {completion.outcome!r} is not one of {sorted(task.outcomes)}",
                type="InvalidOutcome",
                non_retryable=True,
            )

    def accept(self, completion: CompleteTaskInput) -> int:
        """Record a completion; returns the park count to wait past.

        Checked again here, not only in the validator: two Updates delivered
        together are both validated before either handler runs, and only the
        first may win.
        """
        self.validate(completion)
        self.open[completion.task_id].completion = completion
        return self.parked

    def new_id(self, step: str) -> str:
        self.counter += 1
        return f"{self.case_ref}/{step}/{self.counter}"

    async def run(
        self,
        *,
        step: str,
        candidate_org_id: int,
        candidate_role: str,
        outcomes: frozenset[str] = frozenset(),
        deadline: DeadlineRequest | None = None,
        priority: int = 0,
        assignee_id: int | None = None,
    ) -> CompleteTaskInput:
        """Open a task, escalate while it waits, and return its completion."""
        task_id = self.new_id(step)
        one_clock = self._uses_clock()
        # Known as open before open_task returns: its row is in the inboxes
        # as soon as the activity commits, and a completion sent from there
        # in the meantime must not be refused as "not open".
        task = _OpenTask(step=step, outcomes=outcomes, plan=TaskPlan(task_id))
        self.open[task_id] = task
        task.plan = await workflow.execute_activity(
            "open_task",
            OpenTaskInput(
                task_id=task_id,
                case_ref=self.case_ref,
                procedure=self.procedure,
                step=step,
                candidate_org_id=candidate_org_id,
                candidate_role=candidate_role,
                deadline=deadline,
                priority=priority,
                assignee_id=assignee_id,
            ),
            result_type=TaskPlan,
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        task.planned = True
        if task.completion is None and one_clock:
            self._wake_clock()
            self.parked += 1
            try:
                await workflow.wait_condition(lambda: task.completion is not None)
            finally:
                self._stop_firing(task_id)
        elif task.completion is None:
            ladder = asyncio.create_task(self._escalate(task_id, task))
            ladder.add_done_callback(_ladder_ended)
            self.parked += 1
            try:
                await workflow.wait_condition(lambda: task.completion is not None)
            finally:
                ladder.cancel()
        completion = task.completion
        assert completion is not None
        await self._close(task_id, completion)
        return completion

    async def _close(self, task_id: str, completion: CompleteTaskInput) -> None:
        await workflow.execute_activity(
            "close_task",
            CloseTaskInput(
                task_id=task_id,
                actor_id=completion.actor_id,
                outcome=completion.outcome,
                record=completion.record,
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
        del self.open[task_id]

    async def cancel(self, task_id: str) -> None:
        """Withdraw an open task nobody needs any more (e.g. the case closed)."""
        task = self.open.get(task_id)
        if task is None or task.completion is not None:
            return
        task.completion = CompleteTaskInput(task_id=task_id, actor_id=0)
        await workflow.execute_activity(
            "close_task",
            CloseTaskInput(
                task_id=task_id, actor_id=None, outcome=None, record={}, cancelled=True
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )

    def calendar_changed(self) -> None:
        """Every open task replans: its deadline and rungs may have moved."""
        for task in self.open.values():
            task.replanned = task.planned
        self._clock_dirty = True

    def replan(self, task_ids: Callable[[str], bool]) -> None:
        """Replan the open tasks whose ids match (e.g. after an extension)."""
        for task_id, task in self.open.items():
            if task_ids(task_id):
                task.replanned = task.planned
        self._clock_dirty = True

    # -- one clock for every open task's ladder ---------------------------------

    def _wake_clock(self) -> None:
        self._clock_dirty = True
        if self._clock is None:
            self._clock = asyncio.create_task(self._run_clock())
            self._clock.add_done_callback(_ladder_ended)

    def _stop_firing(self, task_id: str) -> None:
        if self._firing is not None and self._firing[0] == task_id:
            self._firing[1].cancel()

    def _next_rung(self) -> tuple[datetime, str, str] | None:
        """The earliest rung not yet fired of a task still waiting for people."""
        found: tuple[datetime, str, str] | None = None
        for task_id, task in self.open.items():
            if not task.planned or task.completion is not None:
                continue
            for rung in task.plan.rungs:
                if rung.rung not in task.fired:
                    if found is None or rung.at < found[0]:
                        found = (rung.at, task_id, rung.rung)
                    break  # a task's rungs fire in their order
        return found

    async def _run_clock(self) -> None:
        timer: asyncio.Task[None] | None = None
        armed_at: datetime | None = None
        while True:
            self._clock_dirty = False
            for task_id, task in list(self.open.items()):
                if task.replanned and task.completion is None:
                    task.replanned = False
                    task.plan = await _refreshed_plan(task_id)
            due = self._next_rung()
            now = workflow.now()
            if due is not None and due[0] <= now:
                await self._fire(due[1], due[2])
                continue
            if due is not None and (armed_at is None or armed_at > due[0]):
                # Only a rung earlier than the timer moves it; a later one
                # waits for the timer, which then finds nothing due.
                if timer is not None:
                    timer.cancel()
                armed_at = due[0]
                timer = asyncio.create_task(
                    asyncio.sleep((due[0] - now).total_seconds())
                )
            await workflow.wait_condition(self._woken(timer))
            if timer is not None and timer.done():
                timer, armed_at = None, None

    def _woken(self, timer: "asyncio.Task[None] | None") -> Callable[[], bool]:
        """Whether the clock should look again: a change, or its timer fired."""
        return lambda: self._clock_dirty or (timer is not None and timer.done())

    async def _fire(self, task_id: str, rung: str) -> None:
        task = self.open[task_id]
        firing = asyncio.create_task(_fire_rung(task_id, rung))
        self._firing = (task_id, firing)
        try:
            await firing
        except (asyncio.CancelledError, ActivityError):
            # The task closed while its rung was being fired: as with its
            # own ladder, the rung's activity is cancelled and nothing more
            # fires for it.
            if not firing.cancelled() and task.completion is None:
                raise
        finally:
            self._firing = None
        task.fired.add(rung)

    async def _escalate(self, task_id: str, task: _OpenTask) -> None:
        while True:
            if task.replanned:
                task.replanned = False
                task.plan = await _refreshed_plan(task_id)
            pending = [r for r in task.plan.rungs if r.rung not in task.fired]
            if not pending:
                await workflow.wait_condition(lambda: task.replanned)
                continue
            rung = pending[0]
            wait = rung.at - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: task.replanned, timeout=wait)
                    continue  # the plan changed while we slept
                except TimeoutError:
                    pass
            await _fire_rung(task_id, rung.rung)
            task.fired.add(rung.rung)
